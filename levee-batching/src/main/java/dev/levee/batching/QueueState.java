package dev.levee.batching;

/**
 * A snapshot of a model's queue at the moment a request arrives.
 *
 * @param queuedRequests requests waiting to run
 * @param maxQueueSize the most requests the queue may hold
 * @param estimatedDrainNanos estimated time until the queued work has run, from measured service time
 */
public record QueueState(int queuedRequests, int maxQueueSize, long estimatedDrainNanos) {}
