package dev.levee.batching;

/**
 * Receives what a scheduler measures, for metrics. Calls come from the threads that submit
 * requests and from the model instance threads, so implementations must be thread-safe.
 */
public interface SchedulerListener {

    /** A batch of {@code requests} requests holding {@code rows} rows ran for {@code serviceNanos}. */
    default void batchCompleted(String model, int requests, int rows, long serviceNanos) {}

    /** A request waited {@code queueNanos} between admission and the start of its batch. */
    default void queueDelay(String model, long queueNanos) {}

    /** Admission turned a request away. */
    default void rejected(String model, RejectionReason reason) {}

    /** A request's deadline passed before its result was ready; it got DEADLINE_EXCEEDED. */
    default void expired(String model) {}

    /** A queued request was cancelled, usually because its client went away; it never ran. */
    default void cancelled(String model) {}

    SchedulerListener NONE = new SchedulerListener() {};
}
