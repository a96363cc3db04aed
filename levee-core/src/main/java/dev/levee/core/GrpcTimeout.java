package dev.levee.core;

import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * Parses and writes the {@code grpc-timeout} request header: at most 8 ASCII digits followed by
 * one unit letter, {@code H}, {@code M}, {@code S}, {@code m} (milliseconds), {@code u}
 * (microseconds) or {@code n} (nanoseconds), as {@code doc/PROTOCOL-HTTP2.md} of the grpc/grpc
 * repository defines it. The node reads it, and the gateway reads it and passes the remaining
 * time on.
 *
 * <p>Vert.x 5.0.7 parses the header too, but rounds it down to whole milliseconds, which turns a
 * sub-millisecond timeout into no timeout at all.
 */
public final class GrpcTimeout {
    public static final String HEADER = "grpc-timeout";
    private static final int MAX_DIGITS = 8;
    private static final long MAX_VALUE = 99_999_999;
    /** Units from the finest to the coarsest, as {@link #format} tries them. */
    private static final TimeUnit[] UNITS = {TimeUnit.NANOSECONDS, TimeUnit.MICROSECONDS, TimeUnit.MILLISECONDS,
        TimeUnit.SECONDS, TimeUnit.MINUTES, TimeUnit.HOURS};
    private static final char[] UNIT_LETTERS = {'n', 'u', 'm', 'S', 'M', 'H'};

    private GrpcTimeout() {}

    /**
     * Returns the timeout in nanoseconds, or empty when {@code header} is null. Throws an
     * INVALID_ARGUMENT {@link InferenceException} for a malformed value.
     */
    public static OptionalLong parseNanos(String header) {
        if (header == null) {
            return OptionalLong.empty();
        }
        int digits = header.length() - 1;
        if (digits < 1 || digits > MAX_DIGITS) {
            throw malformed(header);
        }
        long value = 0;
        for (int i = 0; i < digits; i++) {
            char c = header.charAt(i);
            if (c < '0' || c > '9') {
                throw malformed(header);
            }
            value = value * 10 + (c - '0');
        }
        TimeUnit unit = switch (header.charAt(digits)) {
            case 'H' -> TimeUnit.HOURS;
            case 'M' -> TimeUnit.MINUTES;
            case 'S' -> TimeUnit.SECONDS;
            case 'm' -> TimeUnit.MILLISECONDS;
            case 'u' -> TimeUnit.MICROSECONDS;
            case 'n' -> TimeUnit.NANOSECONDS;
            default -> throw malformed(header);
        };
        // Large hour and minute values overflow a long of nanoseconds, so toNanos saturates at
        // Long.MAX_VALUE (about 292 years), which is as good as no deadline.
        return OptionalLong.of(unit.toNanos(value));
    }

    /**
     * Writes a header value for a timeout of {@code nanos} (at least 0): the finest unit whose value
     * fits in 8 digits, rounded down, so the receiver never gets more time than is left.
     */
    public static String format(long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("nanos: " + nanos + " (expected: >= 0)");
        }
        for (int i = 0; i < UNITS.length - 1; i++) {
            long value = UNITS[i].convert(nanos, TimeUnit.NANOSECONDS);
            if (value <= MAX_VALUE) {
                return Long.toString(value) + UNIT_LETTERS[i];
            }
        }
        // Long.MAX_VALUE nanoseconds are 2562047 hours, which fits in 8 digits.
        return TimeUnit.NANOSECONDS.toHours(nanos) + "H";
    }

    private static InferenceException malformed(String header) {
        return InferenceException.invalid(HEADER + " header '" + header
                + "' is invalid (expected: 1 to 8 digits and a unit H, M, S, m, u or n)");
    }
}
