package dev.levee.core;

/**
 * Source of monotonic time for deadlines, queue delays and service times. Production code uses
 * {@link #SYSTEM}; tests pass a clock they advance by hand so time-dependent behaviour is exact.
 */
@FunctionalInterface
public interface Clock {
    /** Monotonic nanoseconds, comparable only with other readings of the same clock. */
    long nanoTime();

    Clock SYSTEM = System::nanoTime;
}
