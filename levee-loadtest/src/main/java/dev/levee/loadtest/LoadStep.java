package dev.levee.loadtest;

import java.time.Duration;

/** One stage of a load test: an offered rate held for a duration. */
public record LoadStep(double ratePerSecond, Duration duration) {
    public LoadStep {
        if (!(ratePerSecond > 0)) {
            throw new IllegalArgumentException("rate: " + ratePerSecond + " (expected: > 0)");
        }
        if (duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException("duration: " + duration + " (expected: > 0)");
        }
    }

    /** Number of requests the step sends: rate times duration, rounded. */
    public long requests() {
        return Math.round(ratePerSecond * duration.toNanos() / 1e9);
    }
}
