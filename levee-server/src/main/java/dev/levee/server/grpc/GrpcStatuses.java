package dev.levee.server.grpc;

import dev.levee.core.ErrorKind;
import io.vertx.grpc.common.GrpcStatus;

/**
 * The one mapping from the error vocabulary to gRPC status codes, the gRPC column beside
 * {@link dev.levee.server.rest.HttpStatuses}.
 */
public final class GrpcStatuses {
    private GrpcStatuses() {}

    public static GrpcStatus of(ErrorKind kind) {
        return switch (kind) {
            case INVALID_ARGUMENT, UNSUPPORTED_MEDIA_TYPE -> GrpcStatus.INVALID_ARGUMENT;
            case NOT_FOUND -> GrpcStatus.NOT_FOUND;
            case PAYLOAD_TOO_LARGE -> GrpcStatus.RESOURCE_EXHAUSTED;
            case UNAVAILABLE, OVERLOADED -> GrpcStatus.UNAVAILABLE;
            case DEADLINE_EXCEEDED -> GrpcStatus.DEADLINE_EXCEEDED;
            case INTERNAL -> GrpcStatus.INTERNAL;
        };
    }
}
