package dev.levee.faults;

import dev.levee.faults.AttemptSampler.Sample;
import dev.levee.faults.OpenLoopTraffic.Outcome;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * What one fault scenario observed: every request's outcome and the gateway's attempt counters
 * over time. Times are in nanoseconds since the traffic started; {@code faultNanos} is when the
 * fault had taken effect (the killed process reaped, the signal sent, the new node ready).
 */
record Observed(long faultNanos, List<Outcome> outcomes, List<Sample> samples, long trafficStartNanos) {
    private static final long WINDOW_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

    /** Returns the requests that got no 200. */
    List<Outcome> errors() {
        return outcomes.stream().filter(outcome -> !outcome.ok()).toList();
    }

    /** Returns the end of the requests' schedule, the intended send time of the last one. */
    long endNanos() {
        return outcomes.stream().mapToLong(Outcome::intendedNanos).max().orElse(0);
    }

    /** Returns the 99th percentile latency, in ms, of the requests meant to leave in [from, to). */
    double p99Millis(long fromNanos, long toNanos) {
        long[] latencies = outcomes.stream()
                .filter(inSpan(fromNanos, toNanos))
                .mapToLong(Outcome::latencyNanos)
                .sorted()
                .toArray();
        if (latencies.length == 0) {
            return 0;
        }
        int index = (int) Math.ceil(0.99 * latencies.length) - 1;
        return latencies[Math.max(0, index)] / 1e6;
    }

    /**
     * Returns the median of the p99 latencies, in ms, of the 500 ms windows (by intended send
     * time) from {@code from} to {@code to}. One window spoilt by a pause of the machine moves it
     * less than it moves the p99 of the whole span.
     */
    double medianWindowP99Millis(long fromNanos, long toNanos) {
        List<Double> windows = new ArrayList<>();
        for (long from = fromNanos; from + WINDOW_NANOS <= toNanos; from += WINDOW_NANOS) {
            windows.add(p99Millis(from, from + WINDOW_NANOS));
        }
        if (windows.isEmpty()) {
            return p99Millis(fromNanos, toNanos);
        }
        Collections.sort(windows);
        int middle = windows.size() / 2;
        return windows.size() % 2 == 1 ? windows.get(middle) : (windows.get(middle - 1) + windows.get(middle)) / 2;
    }

    /**
     * Returns the end, relative to the fault, of the last 500 ms window (by intended send time)
     * whose p99 was above {@code normalMillis}, or zero when none after the fault was. Reported,
     * not asserted: see {@link #recoveryNanos(double)}.
     */
    long lastSlowWindowEndNanos(double normalMillis) {
        long end = 0;
        for (long from = faultNanos; from < endNanos(); from += WINDOW_NANOS) {
            if (p99Millis(from, from + WINDOW_NANOS) > normalMillis) {
                end = from + WINDOW_NANOS - faultNanos;
            }
        }
        return end;
    }

    /**
     * Returns how long after the fault the p99 latency took to come back to {@code normalMillis}:
     * the earliest time, in 500 ms steps after the fault (by intended send time), from which the
     * p99 of all later requests is within it; the whole run after the fault when none is. The p99
     * of a set of requests rather than of each 500 ms window counts, because a window contains about
     * 50 requests, so its p99 is its slowest request, which one stall of a shared machine's
     * scheduler decides.
     */
    long recoveryNanos(double normalMillis) {
        for (long from = faultNanos; from < endNanos(); from += WINDOW_NANOS) {
            if (p99Millis(from, endNanos() + 1) <= normalMillis) {
                return from - faultNanos;
            }
        }
        return endNanos() - faultNanos;
    }

    /** Returns {@code node}'s share of the gateway's 200 attempts between two times since the start. */
    double okShare(String node, long fromNanos, long toNanos) {
        return AttemptSampler.okShare(samples, node, trafficStartNanos + fromNanos, trafficStartNanos + toNanos);
    }

    /** Returns how long after the fault the last attempt at {@code node} ended, within one sample interval. */
    long lastAttemptEndAfterFaultNanos(String node) {
        return AttemptSampler.lastAttemptEndNanos(samples, node) - trafficStartNanos - faultNanos;
    }

    static long nanos(Duration duration) {
        return duration.toNanos();
    }

    static double millis(long nanos) {
        return nanos / 1e6;
    }

    private static Predicate<Outcome> inSpan(long fromNanos, long toNanos) {
        return outcome -> outcome.intendedNanos() >= fromNanos && outcome.intendedNanos() < toNanos;
    }
}
