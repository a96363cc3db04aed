package dev.levee.batching;

import dev.levee.core.ErrorKind;
import dev.levee.core.InferenceException;
import dev.levee.core.InferenceRequest;
import dev.levee.core.Priority;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Decides at arrival whether a request may join a model's queue. A rejection is returned, not
 * queued, so the client hears "busy" within the time it takes to send the answer.
 */
@FunctionalInterface
public interface AdmissionPolicy {

    /** Returns the rejection for this request, or empty to admit it. */
    Optional<Rejection> reject(InferenceRequest request, QueueState queue, long nowNanos);

    /** A rejected request: why, and the error the client gets. */
    record Rejection(RejectionReason reason, InferenceException error) {}

    /**
     * Admits while the queue holds fewer than its maximum number of requests. With a large
     * maximum this is the naive server that queues whatever arrives.
     */
    static AdmissionPolicy boundedQueue() {
        return (request, queue, now) -> queueFull(request, queue);
    }

    /**
     * Keeps the queue short enough to drain within the model's target queue delay, and turns away
     * at once a request whose deadline cannot be met. Estimates come from measured service time:
     * until the first batch is measured, only the queue's maximum size applies.
     *
     * <ol>
     *   <li>queue at its maximum size: {@link RejectionReason#QUEUE_FULL};
     *   <li>low priority while the drain time exceeds half the target: {@link RejectionReason#LOW_PRIORITY};
     *   <li>drain time over the target: {@link RejectionReason#QUEUE_DELAY};
     *   <li>drain time plus one batch's service time after the deadline: {@link RejectionReason#DEADLINE}.
     * </ol>
     */
    static AdmissionPolicy predictive() {
        return (request, queue, now) -> {
            Optional<Rejection> full = queueFull(request, queue);
            if (full.isPresent()) {
                return full;
            }
            long drain = queue.drainNanos();
            long target = queue.targetQueueDelayNanos();
            if (request.priority() == Priority.LOW && drain > target / 2) {
                return Optional.of(overloaded(RejectionReason.LOW_PRIORITY, "model '" + request.model()
                        + "' is busy and sheds low-priority requests first; retry later", drain));
            }
            if (drain > target) {
                return Optional.of(overloaded(RejectionReason.QUEUE_DELAY, "model '" + request.model()
                        + "' is over capacity: queued work needs about " + millis(drain) + " ms to drain, over the "
                        + millis(target) + " ms target; retry later", drain));
            }
            if (request.hasDeadline()) {
                long remaining = request.deadlineNanos() - now;
                long expected = drain + queue.batchServiceNanos();
                if (expected > remaining) {
                    return Optional.of(overloaded(RejectionReason.DEADLINE, "model '" + request.model()
                            + "' cannot answer within the request's timeout: expected " + millis(expected)
                            + " ms, " + Math.max(0, millis(remaining)) + " ms left", drain));
                }
            }
            return Optional.empty();
        };
    }

    private static Optional<Rejection> queueFull(InferenceRequest request, QueueState queue) {
        if (queue.queuedRequests() < queue.maxQueueSize()) {
            return Optional.empty();
        }
        return Optional.of(overloaded(RejectionReason.QUEUE_FULL, "model '" + request.model()
                + "' is over capacity: its queue holds " + queue.queuedRequests() + " requests; retry later",
                queue.drainNanos()));
    }

    private static Rejection overloaded(RejectionReason reason, String message, long drainNanos) {
        return new Rejection(reason, InferenceException.retryLater(ErrorKind.OVERLOADED, message,
                retryAfterSeconds(drainNanos)));
    }

    private static long millis(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    /** Seconds to suggest in Retry-After: the drain estimate rounded up, at least 1. */
    static long retryAfterSeconds(long drainNanos) {
        long seconds = TimeUnit.NANOSECONDS.toSeconds(drainNanos + TimeUnit.SECONDS.toNanos(1) - 1);
        return Math.max(1, seconds);
    }
}
