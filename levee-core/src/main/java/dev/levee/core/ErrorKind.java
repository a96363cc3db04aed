package dev.levee.core;

/**
 * The one error vocabulary of a node. Each kind maps to exactly one HTTP status and one gRPC
 * status code, in the transport layer and nowhere else.
 */
public enum ErrorKind {
    /** The request is malformed or does not fit the model: HTTP 400, gRPC INVALID_ARGUMENT. */
    INVALID_ARGUMENT,
    /** Unknown model or version: HTTP 404, gRPC NOT_FOUND. */
    NOT_FOUND,
    /** The body is larger than the configured limit: HTTP 413, gRPC RESOURCE_EXHAUSTED. */
    PAYLOAD_TOO_LARGE,
    /** The content type cannot be decoded: HTTP 415, gRPC INVALID_ARGUMENT. */
    UNSUPPORTED_MEDIA_TYPE,
    /** The model is loading or unloading, or the node is draining: HTTP 503, gRPC UNAVAILABLE. */
    UNAVAILABLE,
    /** Over capacity, or the deadline cannot be met: HTTP 503, gRPC UNAVAILABLE. */
    OVERLOADED,
    /** The deadline passed before the work could start: HTTP 504, gRPC DEADLINE_EXCEEDED. */
    DEADLINE_EXCEEDED,
    /** A fault inside the node: HTTP 500, gRPC INTERNAL. */
    INTERNAL
}
