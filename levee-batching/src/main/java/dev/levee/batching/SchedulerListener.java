package dev.levee.batching;

/** Receives what a scheduler measures, for metrics; calls come from the model instance threads. */
public interface SchedulerListener {

    /** A batch of {@code requests} requests holding {@code rows} rows ran for {@code serviceNanos}. */
    default void batchCompleted(String model, int requests, int rows, long serviceNanos) {}

    /** A request waited {@code queueNanos} between admission and the start of its batch. */
    default void queueDelay(String model, long queueNanos) {}

    SchedulerListener NONE = new SchedulerListener() {};
}
