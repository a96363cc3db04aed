package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import dev.levee.core.Clock;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Caps retries at a fraction of recent requests plus a small floor, so that when every node is
 * overloaded, retries add at most that fraction to the load instead of multiplying it. Requests
 * and retries are counted over a sliding window of {@value #WINDOW_SECONDS} one-second buckets;
 * a retry is allowed while the retries in the window stay within
 * {@code ratio * requests + floorPerSecond * WINDOW_SECONDS}.
 *
 * <p>Methods are synchronized: every event loop records requests, and each call is a few array
 * updates.
 */
final class RetryBudget {
    static final int WINDOW_SECONDS = 10;
    private static final long BUCKET_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final double ratio;
    private final int floorPerSecond;
    private final Clock clock;
    /** Per bucket, the second (clock time divided by a second) it counts; stale buckets are reset when reused. */
    private final long[] bucketSecond = new long[WINDOW_SECONDS];
    private final long[] requests = new long[WINDOW_SECONDS];
    private final long[] retries = new long[WINDOW_SECONDS];

    /**
     * @param ratio retries allowed per request in the window, 0 to 1
     * @param floorPerSecond retries per second allowed whatever the request count, so that a
     *     gateway with little traffic can still retry
     */
    RetryBudget(double ratio, int floorPerSecond, Clock clock) {
        if (!(ratio >= 0 && ratio <= 1)) {
            throw new IllegalArgumentException("ratio: " + ratio + " (expected: 0 to 1)");
        }
        if (floorPerSecond < 0) {
            throw new IllegalArgumentException("floorPerSecond: " + floorPerSecond + " (expected: >= 0)");
        }
        this.ratio = ratio;
        this.floorPerSecond = floorPerSecond;
        this.clock = requireNonNull(clock, "clock");
        Arrays.fill(bucketSecond, Long.MIN_VALUE);
    }

    /** Counts a request from a client; only first attempts count, not retries. */
    synchronized void recordRequest() {
        requests[bucket()]++;
    }

    /** Returns whether a retry is allowed now, and counts it when it is. */
    synchronized boolean tryRetry() {
        int bucket = bucket();
        if (retriesInWindow() + 1 > allowed()) {
            return false;
        }
        retries[bucket]++;
        return true;
    }

    /** Returns the retries the window allows now. */
    synchronized long allowed() {
        bucket();
        long requestsInWindow = 0;
        for (long count : requests) {
            requestsInWindow += count;
        }
        return (long) Math.floor(ratio * requestsInWindow) + (long) floorPerSecond * WINDOW_SECONDS;
    }

    synchronized long retriesInWindow() {
        bucket();
        long sum = 0;
        for (long count : retries) {
            sum += count;
        }
        return sum;
    }

    /** Returns the share of the allowed retries used in the window, 0 when none are allowed. */
    synchronized double used() {
        long allowed = allowed();
        return allowed == 0 ? 0 : retriesInWindow() / (double) allowed;
    }

    /** Returns the bucket of the current second, after resetting every bucket older than the window. */
    private int bucket() {
        long second = Math.floorDiv(clock.nanoTime(), BUCKET_NANOS);
        for (int i = 0; i < WINDOW_SECONDS; i++) {
            if (bucketSecond[i] != Long.MIN_VALUE && second - bucketSecond[i] >= WINDOW_SECONDS) {
                bucketSecond[i] = Long.MIN_VALUE;
                requests[i] = 0;
                retries[i] = 0;
            }
        }
        int index = (int) Math.floorMod(second, (long) WINDOW_SECONDS);
        if (bucketSecond[index] != second) {
            bucketSecond[index] = second;
            requests[index] = 0;
            retries[index] = 0;
        }
        return index;
    }
}
