package dev.levee.batching;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs an action once a request's deadline has come, so a client hears 504 at its deadline even
 * while its request is still queued or running. Tests replace it to fire deadlines by hand.
 */
@FunctionalInterface
public interface DeadlineTimer {

    void schedule(long delayNanos, Runnable action);

    /** Fires on the JDK's shared delay thread. */
    DeadlineTimer SYSTEM = (delayNanos, action) ->
            CompletableFuture.delayedExecutor(Math.max(0, delayNanos), TimeUnit.NANOSECONDS).execute(action);

    /** Never fires: deadlines are then enforced only when a batch is formed. */
    DeadlineTimer NONE = (delayNanos, action) -> {};
}
