package dev.levee.server.rest;

import dev.levee.core.ErrorKind;

/** The one mapping from the error vocabulary to HTTP status codes. */
public final class HttpStatuses {
    private HttpStatuses() {}

    public static int of(ErrorKind kind) {
        return switch (kind) {
            case INVALID_ARGUMENT -> 400;
            case NOT_FOUND -> 404;
            case PAYLOAD_TOO_LARGE -> 413;
            case UNSUPPORTED_MEDIA_TYPE -> 415;
            case UNAVAILABLE, OVERLOADED -> 503;
            case DEADLINE_EXCEEDED -> 504;
            case INTERNAL -> 500;
        };
    }
}
