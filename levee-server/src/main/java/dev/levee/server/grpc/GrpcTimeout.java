package dev.levee.server.grpc;

import dev.levee.core.InferenceException;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * Parses the {@code grpc-timeout} request header: at most 8 ASCII digits followed by one unit
 * letter, {@code H}, {@code M}, {@code S}, {@code m} (milliseconds), {@code u} (microseconds) or
 * {@code n} (nanoseconds), as {@code doc/PROTOCOL-HTTP2.md} of the grpc/grpc repository defines it.
 *
 * <p>Vert.x 5.0.7 parses the header too, but rounds it down to whole milliseconds, which turns a
 * sub-millisecond timeout into no timeout at all.
 */
final class GrpcTimeout {
    static final String HEADER = "grpc-timeout";
    private static final int MAX_DIGITS = 8;

    private GrpcTimeout() {}

    /**
     * Returns the timeout in nanoseconds, or empty when {@code header} is null. Throws an
     * INVALID_ARGUMENT {@link InferenceException} for a malformed value.
     */
    static OptionalLong parseNanos(String header) {
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

    private static InferenceException malformed(String header) {
        return InferenceException.invalid(HEADER + " header '" + header
                + "' is invalid (expected: 1 to 8 digits and a unit H, M, S, m, u or n)");
    }
}
