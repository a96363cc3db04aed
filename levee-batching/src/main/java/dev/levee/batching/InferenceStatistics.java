package dev.levee.batching;

import static java.util.Objects.requireNonNull;

import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Cumulative statistics of one model version, in the terms of Triton's statistics extension: requests
 * that succeeded or failed, their queue delay and model time, and the model runs by batch size.
 *
 * <p>Writers are the threads that submit requests and the model instance threads. Every counter is a
 * {@link LongAdder} or an element of an {@link AtomicLongArray}, so no writer takes a lock. A
 * {@link #snapshot} reads the counters one by one while requests finish, so its fields may be a few
 * requests apart from each other; each field on its own never goes backwards.
 */
public final class InferenceStatistics {
    private final InstantSource wallClock;
    private final Counter success = new Counter();
    private final Counter fail = new Counter();
    private final Counter queue = new Counter();
    private final Counter computeInfer = new Counter();
    private final LongAdder inferences = new LongAdder();
    private final LongAdder executions = new LongAdder();
    /** Model runs that returned outcomes, indexed by their rows. Index 0 is unused. */
    private final AtomicLongArray batchRuns;
    /** Nanoseconds of those model runs, indexed by their rows. */
    private final AtomicLongArray batchNanos;
    private volatile long lastInferenceMillis;

    /**
     * Creates empty statistics for a model version whose batches contain at most {@code maxBatchSize}
     * rows; the time of the last inference comes from {@code wallClock}.
     */
    public InferenceStatistics(int maxBatchSize, InstantSource wallClock) {
        if (maxBatchSize <= 0) {
            throw new IllegalArgumentException("maxBatchSize: " + maxBatchSize + " (expected: > 0)");
        }
        this.wallClock = requireNonNull(wallClock, "wallClock");
        this.batchRuns = new AtomicLongArray(maxBatchSize + 1);
        this.batchNanos = new AtomicLongArray(maxBatchSize + 1);
    }

    /** Counts a request that got its response, {@code nanos} after the scheduler took it. */
    void succeeded(long nanos) {
        success.add(nanos);
        lastInferenceMillis = wallClock.millis();
    }

    /** Counts a request that got an error, {@code nanos} after the scheduler took it. */
    void failed(long nanos) {
        fail.add(nanos);
    }

    /**
     * Counts the queue delay and model time of a request that succeeded in a model run. Each request
     * of a batch is charged the whole run, as Triton charges it.
     */
    void ran(long queueNanos, long computeNanos) {
        queue.add(queueNanos);
        computeInfer.add(computeNanos);
    }

    /** Counts a model run of {@code rows} rows that returned outcomes, after {@code nanos}. */
    void executed(int rows, long nanos) {
        inferences.add(rows);
        executions.increment();
        // Validation rejects a request larger than the max batch size, so every batch fits the arrays.
        if (rows > 0 && rows < batchRuns.length()) {
            batchRuns.incrementAndGet(rows);
            batchNanos.addAndGet(rows, nanos);
        }
    }

    /** Returns the counters as they are now. */
    public Snapshot snapshot() {
        List<BatchSize> batches = new ArrayList<>();
        for (int rows = 1; rows < batchRuns.length(); rows++) {
            long runs = batchRuns.get(rows);
            if (runs > 0) {
                batches.add(new BatchSize(rows, new Duration(runs, batchNanos.get(rows))));
            }
        }
        return new Snapshot(lastInferenceMillis, inferences.sum(), executions.sum(), success.read(), fail.read(),
                queue.read(), computeInfer.read(), batches);
    }

    /** A count of events and their total duration in nanoseconds, Triton's StatisticDuration. */
    public record Duration(long count, long nanos) {
        public static final Duration ZERO = new Duration(0, 0);
    }

    /** The model runs of one batch size, in rows. */
    public record BatchSize(int rows, Duration computeInfer) {}

    /**
     * The statistics of a model version at one moment.
     *
     * @param lastInferenceMillis when the last request succeeded, in milliseconds since the epoch; 0 before any
     * @param inferenceCount rows of the model runs that returned outcomes
     * @param executionCount model runs that returned outcomes
     * @param success requests that got a response, and their time from the scheduler taking them to the
     *     response
     * @param fail requests that got an error, and their time likewise
     * @param queue queue delay of the requests that succeeded in a model run
     * @param computeInfer model run time of the requests that succeeded in a model run
     * @param batches model runs by batch size, smallest first, only sizes that ran
     */
    public record Snapshot(long lastInferenceMillis, long inferenceCount, long executionCount, Duration success,
            Duration fail, Duration queue, Duration computeInfer, List<BatchSize> batches) {
        public Snapshot {
            batches = List.copyOf(batches);
        }
    }

    private static final class Counter {
        private final LongAdder count = new LongAdder();
        private final LongAdder nanos = new LongAdder();

        void add(long durationNanos) {
            count.increment();
            nanos.add(durationNanos);
        }

        Duration read() {
            return new Duration(count.sum(), nanos.sum());
        }
    }
}
