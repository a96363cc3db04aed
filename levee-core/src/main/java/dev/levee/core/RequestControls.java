package dev.levee.core;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Reads the request parameters that steer admission rather than the model: {@code timeout} in
 * microseconds, as Triton's clients send it, and {@code priority} ({@code "low"} or
 * {@code "normal"}). Transports also map their own headers or deadlines onto the same values.
 */
public final class RequestControls {
    /** Request parameter carrying the timeout in microseconds. */
    public static final String TIMEOUT_PARAMETER = "timeout";
    /** Request parameter carrying the priority. */
    public static final String PRIORITY_PARAMETER = "priority";

    /** Maximum timeout, one day, so that deadline arithmetic cannot overflow. */
    private static final long MAX_TIMEOUT_NANOS = TimeUnit.DAYS.toNanos(1);

    private RequestControls() {}

    /** Returns the timeout in nanoseconds from the {@code timeout} parameter, if present. */
    public static Optional<Long> timeoutNanos(Map<String, Object> parameters) {
        Object value = parameters.get(TIMEOUT_PARAMETER);
        if (value == null) {
            return Optional.empty();
        }
        boolean integral = value instanceof Long || value instanceof Integer || value instanceof Short
                || value instanceof Byte || value instanceof java.math.BigInteger;
        if (!integral || ((Number) value).doubleValue() < 0) {
            throw InferenceException.invalid("parameter 'timeout': " + value
                    + " (expected: a non-negative integer number of microseconds)");
        }
        if (value instanceof java.math.BigInteger) {
            // Beyond a long's range: far more than the one-day maximum anyway.
            return Optional.of(MAX_TIMEOUT_NANOS);
        }
        return Optional.of(clamp(TimeUnit.MICROSECONDS.toNanos(((Number) value).longValue())));
    }

    /** Parses a millisecond timeout from a header value; {@code header} names it in errors. */
    public static long timeoutNanosFromMillis(String header, String value) {
        long millis;
        try {
            millis = Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            millis = -1;
        }
        if (millis < 0) {
            throw InferenceException.invalid(header + ": '" + value
                    + "' (expected: a non-negative integer number of milliseconds)");
        }
        return clamp(TimeUnit.MILLISECONDS.toNanos(millis));
    }

    /** Returns the priority from the {@code priority} parameter, if present. */
    public static Optional<Priority> priority(Map<String, Object> parameters) {
        Object value = parameters.get(PRIORITY_PARAMETER);
        if (value == null) {
            return Optional.empty();
        }
        return Optional.of(parsePriority("parameter 'priority'", value.toString()));
    }

    public static Priority parsePriority(String where, String value) {
        return Priority.parse(value).orElseThrow(() -> InferenceException.invalid(
                where + ": '" + value + "' (expected: low or normal)"));
    }

    /** Returns the deadline of a request that arrived at {@code arrivalNanos} with the given timeout. */
    public static long deadline(long arrivalNanos, long timeoutNanos) {
        return arrivalNanos + timeoutNanos;
    }

    /**
     * Applies the {@code timeout} and {@code priority} parameters of a request that arrived at
     * {@code arrivalNanos}. A deadline the transport already set (a gRPC deadline) is kept when
     * it is the earlier one.
     */
    public static InferenceRequest applyParameters(InferenceRequest request, long arrivalNanos) {
        Optional<Long> timeout = timeoutNanos(request.parameters());
        if (timeout.isPresent()) {
            long deadline = deadline(arrivalNanos, timeout.get());
            if (deadline < request.deadlineNanos()) {
                request = request.withDeadline(deadline);
            }
        }
        Optional<Priority> priority = priority(request.parameters());
        return priority.isPresent() ? request.withPriority(priority.get()) : request;
    }

    private static long clamp(long nanos) {
        return Math.min(nanos, MAX_TIMEOUT_NANOS);
    }
}
