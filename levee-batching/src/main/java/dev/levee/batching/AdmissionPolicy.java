package dev.levee.batching;

import dev.levee.core.ErrorKind;
import dev.levee.core.InferenceException;
import dev.levee.core.InferenceRequest;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Decides at arrival whether a request may join a model's queue. A rejection is returned, not
 * queued, so the client hears "busy" within the time it takes to send the answer.
 */
@FunctionalInterface
public interface AdmissionPolicy {

    /** Returns the rejection for this request, or empty to admit it. */
    Optional<InferenceException> reject(InferenceRequest request, QueueState queue, long nowNanos);

    /** Admits while the queue has room; a full queue rejects with the expected drain time as retry hint. */
    static AdmissionPolicy boundedQueue() {
        return (request, queue, now) -> {
            if (queue.queuedRequests() < queue.maxQueueSize()) {
                return Optional.empty();
            }
            return Optional.of(InferenceException.retryLater(ErrorKind.OVERLOADED,
                    "model '" + request.model() + "' is over capacity: its queue holds "
                            + queue.queuedRequests() + " requests; retry later",
                    retryAfterSeconds(queue.estimatedDrainNanos())));
        };
    }

    /** Seconds to suggest in Retry-After: the drain estimate rounded up, at least 1. */
    static long retryAfterSeconds(long drainNanos) {
        long seconds = TimeUnit.NANOSECONDS.toSeconds(drainNanos + TimeUnit.SECONDS.toNanos(1) - 1);
        return Math.max(1, seconds);
    }
}
