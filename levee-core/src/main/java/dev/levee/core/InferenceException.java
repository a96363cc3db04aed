package dev.levee.core;

import static java.util.Objects.requireNonNull;

import java.util.OptionalLong;

/**
 * A failed request, with the kind of failure and a message that is safe to show the client.
 * Rejections for load ({@link ErrorKind#OVERLOADED}, {@link ErrorKind#UNAVAILABLE},
 * {@link ErrorKind#DEADLINE_EXCEEDED}) are routine, so they carry no stack trace.
 */
public final class InferenceException extends RuntimeException {
    private final ErrorKind kind;
    private final long retryAfterSeconds;

    private InferenceException(ErrorKind kind, String message, long retryAfterSeconds, Throwable cause) {
        super(message, cause, false, !isRoutine(kind));
        this.kind = requireNonNull(kind, "kind");
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public static InferenceException invalid(String message) {
        return new InferenceException(ErrorKind.INVALID_ARGUMENT, message, -1, null);
    }

    public static InferenceException notFound(String message) {
        return new InferenceException(ErrorKind.NOT_FOUND, message, -1, null);
    }

    public static InferenceException of(ErrorKind kind, String message) {
        return new InferenceException(kind, message, -1, null);
    }

    /** A rejection that tells the client to retry after the given number of seconds (at least 1). */
    public static InferenceException retryLater(ErrorKind kind, String message, long retryAfterSeconds) {
        return new InferenceException(kind, message, Math.max(1, retryAfterSeconds), null);
    }

    /** An internal fault; the message goes to the client, so it must not leak internals. */
    public static InferenceException internal(String message, Throwable cause) {
        return new InferenceException(ErrorKind.INTERNAL, message, -1, cause);
    }

    public ErrorKind kind() {
        return kind;
    }

    /** Seconds the client should wait before retrying, when the failure is temporary. */
    public OptionalLong retryAfterSeconds() {
        return retryAfterSeconds > 0 ? OptionalLong.of(retryAfterSeconds) : OptionalLong.empty();
    }

    private static boolean isRoutine(ErrorKind kind) {
        return kind == ErrorKind.OVERLOADED
                || kind == ErrorKind.UNAVAILABLE
                || kind == ErrorKind.DEADLINE_EXCEEDED
                || kind == ErrorKind.INVALID_ARGUMENT
                || kind == ErrorKind.NOT_FOUND;
    }
}
