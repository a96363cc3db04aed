package dev.levee.server.grpc;

import dev.levee.core.ErrorKind;
import dev.levee.core.InferenceException;
import io.vertx.core.Future;
import io.vertx.grpc.common.CodecException;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.GrpcServerResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reading the one request message of a unary call, and ending a call with a failure status. */
final class UnaryCalls {
    private static final Logger log = LoggerFactory.getLogger(UnaryCalls.class);
    /**
     * Trailer with the milliseconds a gRPC client should wait before it retries, the hint that REST
     * sends as Retry-After. grpc-java's retry support reads it when the client has a retry policy.
     */
    static final String RETRY_PUSHBACK_TRAILER = "grpc-retry-pushback-ms";

    private UnaryCalls() {}

    /**
     * Reads the request message once the client has sent all of it. The future fails with an
     * {@link InferenceException} when the call must end with an error status, and with any other
     * exception when the stream failed because the client went away, so no response can be sent.
     */
    static <Q> Future<Q> readMessage(GrpcServerRequest<Q, ?> request, String messageType) {
        int[] messages = {0};
        // Vert.x keeps only the last message for last(), so a count is needed to detect none or several.
        request.messageHandler(message -> messages[0]++);
        return request.end().compose(ended -> {
            if (messages[0] != 1) {
                return Future.failedFuture(InferenceException.invalid("a unary call carries one " + messageType
                        + " message, but this request has " + messages[0]));
            }
            return request.last().recover(cause -> Future.failedFuture(decodeFailure(request, messageType, cause)));
        });
    }

    private static Throwable decodeFailure(GrpcServerRequest<?, ?> request, String messageType, Throwable cause) {
        if (cause instanceof CodecException) {
            return InferenceException.invalid("request message is not a valid " + messageType);
        }
        if (cause instanceof UnsupportedOperationException) {
            // Vert.x decompresses identity and gzip only, and rejects every other grpc-encoding this way.
            return InferenceException.of(ErrorKind.UNSUPPORTED_MEDIA_TYPE, "grpc-encoding '" + request.encoding()
                    + "' is not supported (expected: identity or gzip)");
        }
        log.warn("[{}] decoding the {} failed inside the node", request.fullMethodName(), messageType, cause);
        return InferenceException.internal("internal error", cause);
    }

    /** Ends the call with the status that {@link GrpcStatuses} maps the error's kind to. */
    private static final int MAX_MESSAGE_LENGTH = 2000;

    static void fail(GrpcServerResponse<?, ?> response, InferenceException error) {
        error.retryAfterSeconds().ifPresent(seconds ->
                response.trailers().set(RETRY_PUSHBACK_TRAILER, Long.toString(seconds * 1000)));
        String message = error.getMessage();
        // A status message quoting a huge input would be as large; clients need only its start.
        if (message.length() > MAX_MESSAGE_LENGTH) {
            message = message.substring(0, MAX_MESSAGE_LENGTH) + "...";
        }
        response.status(GrpcStatuses.of(error.kind())).statusMessage(message).end();
    }
}
