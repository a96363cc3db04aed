package dev.levee.batching;

/**
 * A snapshot of a model's queue at the moment a request arrives, with the scheduler's estimates.
 *
 * @param queuedRequests requests waiting to run
 * @param maxQueueSize the most requests the queue may hold
 * @param drainNanos estimated time until the queued work has run, from measured service time;
 *     0 until the first batch has been measured
 * @param batchServiceNanos estimated service time of the batch the arriving request will run in;
 *     0 until measured
 * @param targetQueueDelayNanos the queueing delay the model is configured to stay under
 */
public record QueueState(
        int queuedRequests, int maxQueueSize, long drainNanos, long batchServiceNanos, long targetQueueDelayNanos) {}
