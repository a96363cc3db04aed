package dev.levee.batching;

/**
 * Estimates how long a batch of a given number of rows runs, as a fixed cost plus a cost per row,
 * fitted by recursive least squares that forgets old batches. Batching makes rows cheaper in
 * large batches, so one average per row would overestimate the drain time of a long queue that
 * runs in full batches, and one average per batch would underestimate it.
 *
 * <p>Not thread-safe: the scheduler calls it under its lock.
 */
final class ServiceTimeEstimator {
    /** Weight kept by past batches at each new one; about the last 50 batches count. */
    private static final double FORGETTING = 0.98;
    /** Initial uncertainty: large, so the first measurements decide. */
    private static final double INITIAL_COVARIANCE = 1e6;

    private double fixedNanos;
    private double rowNanos;
    private double p00 = INITIAL_COVARIANCE;
    private double p01;
    private double p11 = INITIAL_COVARIANCE;
    private boolean measured;

    /** Adds one measured batch of {@code rows} rows that ran for {@code nanos}. */
    void record(int rows, long nanos) {
        // The fit works in milliseconds so the covariance stays well within double precision.
        double x = rows;
        double y = nanos / 1e6;
        double px0 = p00 + p01 * x;
        double px1 = p01 + p11 * x;
        double denominator = FORGETTING + px0 + x * px1;
        double k0 = px0 / denominator;
        double k1 = px1 / denominator;
        double error = y - (fixedNanos / 1e6 + (rowNanos / 1e6) * x);
        double fixedMillis = fixedNanos / 1e6 + k0 * error;
        double rowMillis = rowNanos / 1e6 + k1 * error;
        double q00 = (p00 - k0 * px0) / FORGETTING;
        double q01 = (p01 - k0 * px1) / FORGETTING;
        double q11 = (p11 - k1 * px1) / FORGETTING;
        p00 = q00;
        p01 = q01;
        p11 = q11;
        fixedNanos = fixedMillis * 1e6;
        rowNanos = rowMillis * 1e6;
        measured = true;
    }

    boolean measured() {
        return measured;
    }

    /** Estimated service time of one batch of {@code rows} rows; 0 before any measurement. */
    long batchNanos(int rows) {
        if (!measured || rows <= 0) {
            return 0;
        }
        // A fit on few batch sizes can tilt either way; neither part of the cost is negative.
        double fixed = Math.max(0, fixedNanos);
        double perRow = Math.max(0, rowNanos);
        return (long) (fixed + perRow * rows);
    }

    /**
     * Estimated time to run {@code queuedRows} rows in batches of at most {@code maxBatchSize}
     * rows on {@code instances} instances running in parallel.
     */
    long drainNanos(int queuedRows, int maxBatchSize, int instances) {
        if (queuedRows <= 0) {
            return 0;
        }
        int fullBatches = queuedRows / maxBatchSize;
        int remainder = queuedRows % maxBatchSize;
        long total = fullBatches * batchNanos(maxBatchSize) + batchNanos(remainder);
        return total / Math.max(1, instances);
    }
}
