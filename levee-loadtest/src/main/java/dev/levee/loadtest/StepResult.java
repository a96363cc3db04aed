package dev.levee.loadtest;

import java.util.Map;

/**
 * What one load step measured. Latencies are in milliseconds from each request's intended send
 * time; the ok percentiles cover 200 responses only.
 *
 * @param offeredRps the arrival rate asked for
 * @param sentRps the rate at which requests actually left, a check that the generator kept up
 * @param durationSeconds the step's length
 * @param sent requests sent
 * @param ok responses with status 200
 * @param rejected responses with status 429, 503 or 504, by status
 * @param errors other outcomes by kind: {@code http_500}, {@code timeout}, {@code connect}, ...
 * @param goodputRps ok responses within the latency objective, per second of the step
 * @param okP50Ms median latency of ok responses
 * @param okP90Ms 90th percentile latency of ok responses
 * @param okP99Ms 99th percentile latency of ok responses
 * @param okP999Ms 99.9th percentile latency of ok responses
 * @param okMaxMs largest latency of an ok response
 * @param rejectedP99Ms 99th percentile latency of rejections
 */
public record StepResult(
        double offeredRps,
        double sentRps,
        double durationSeconds,
        long sent,
        long ok,
        Map<Integer, Long> rejected,
        Map<String, Long> errors,
        double goodputRps,
        double okP50Ms,
        double okP90Ms,
        double okP99Ms,
        double okP999Ms,
        double okMaxMs,
        double rejectedP99Ms) {

    public long rejectedTotal() {
        return rejected.values().stream().mapToLong(Long::longValue).sum();
    }

    public long errorTotal() {
        return errors.values().stream().mapToLong(Long::longValue).sum();
    }
}
