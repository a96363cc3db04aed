package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import dev.levee.core.GrpcTimeout;
import dev.levee.core.InferenceException;
import dev.levee.core.RequestControls;
import dev.levee.gateway.AttemptResult.Responded;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Forwarding of the v2 gRPC service {@code inference.GRPCInferenceService} over HTTP/2. The model
 * comes from the request message of ModelInfer, ModelReady, ModelMetadata, ModelConfig and
 * ModelStatistics, and the deadline from {@code grpc-timeout} and the {@code timeout} parameter of
 * a ModelInferRequest. A node's gRPC status is judged as the HTTP status that matches it,
 * UNAVAILABLE as 503 for example, and the gateway's own errors end the call with the matching gRPC
 * status.
 *
 * @param method the service method, such as {@code ModelInfer}
 */
record GrpcForwarding(String method) implements Forwarding {
    static final String MEDIA_TYPE = "application/grpc";
    static final String SERVICE_PATH = "/inference.GRPCInferenceService/";
    /** Trailer with the milliseconds a client should wait before it retries, gRPC's Retry-After. */
    static final String RETRY_PUSHBACK = "grpc-retry-pushback-ms";
    /** Header that names the compression of the call's messages. */
    private static final String ENCODING = "grpc-encoding";
    /**
     * Methods whose request message names the model in fields 1 and 2. A ModelStatistics request
     * without a name requests every model, so it goes to any node, which returns its own.
     */
    private static final Set<String> MODEL_METHODS =
            Set.of("ModelInfer", "ModelReady", "ModelMetadata", "ModelConfig", "ModelStatistics");

    GrpcForwarding {
        requireNonNull(method, "method");
    }

    /**
     * Rejects a message flagged compressed in a call without {@code grpc-encoding}, which the gRPC
     * protocol does not allow. A node running Vert.x 5.0.7 sends no response to such a call, so
     * every attempt would time out and count against the node's health, and a few such calls
     * would eject healthy nodes.
     */
    @Override
    public void checkRequest(HttpServerRequest request, Buffer body) {
        if (request.getHeader(ENCODING) == null && GrpcMessages.anyCompressed(body)) {
            throw InferenceException.invalid("request message is flagged compressed, but the call has no "
                    + ENCODING + " header (expected: uncompressed messages, or a " + ENCODING + " such as gzip)");
        }
    }

    /**
     * Reads the model from the request message, and the deadline as the shorter of
     * {@code grpc-timeout} and, for ModelInfer, the v2 {@code timeout} parameter (microseconds) of
     * the message. Throws INVALID_ARGUMENT for a bad parameter value, as the node would.
     */
    @Override
    public Routing read(HttpServerRequest request, Buffer body) {
        OptionalLong header = GrpcTimeout.parseNanos(request.getHeader(GrpcTimeout.HEADER));
        boolean modelMethod = MODEL_METHODS.contains(method);
        boolean infer = method.equals("ModelInfer");
        if (!modelMethod) {
            return new Routing(header, ModelKey.NONE);
        }
        GrpcMessages.RequestFields fields = GrpcMessages.read(body, infer);
        ModelKey model = fields.model().orElse(ModelKey.NONE);
        if (fields.timeout().isEmpty()) {
            return new Routing(header, model);
        }
        long parameter = RequestControls.timeoutNanos(Map.of(RequestControls.TIMEOUT_PARAMETER, fields.timeout().get()))
                .orElseThrow();
        long timeout = header.isEmpty() ? parameter : Math.min(header.getAsLong(), parameter);
        return new Routing(OptionalLong.of(timeout), model);
    }

    @Override
    public void prepareAttempt(MultiMap headers, long remainingNanos) {
        headers.set(GrpcTimeout.HEADER, GrpcTimeout.format(remainingNanos));
        // gRPC over HTTP/2 requires "te: trailers", which the hop-by-hop filter removed from the client's headers.
        headers.set("te", "trailers");
    }

    @Override
    public int status(Responded response) {
        if (response.status() != 200) {
            return response.status();
        }
        String code = grpcStatus(response);
        if (code == null) {
            return 500;
        }
        try {
            return httpStatus(Integer.parseInt(code.trim()));
        } catch (NumberFormatException e) {
            return 500;
        }
    }

    @Override
    public String label(Responded response) {
        String code = grpcStatus(response);
        return response.status() != 200 || code == null ? Integer.toString(response.status()) : "grpc-" + code.trim();
    }

    /** Returns the grpc-status from the trailers, or from the headers of a response without a message. */
    private static String grpcStatus(Responded response) {
        String code = response.trailers().get("grpc-status");
        return code != null ? code : response.headers().get("grpc-status");
    }

    /** Returns the HTTP status that matches a gRPC status code, as the gateway's retry rules read it. */
    static int httpStatus(int grpcCode) {
        return switch (grpcCode) {
            case 0 -> 200;
            case 3, 9, 11 -> 400;
            case 4 -> 504;
            case 5 -> 404;
            case 7 -> 403;
            case 8 -> 413;
            case 12 -> 501;
            case 14 -> 503;
            case 16 -> 401;
            // CANCELLED, the client gave up, is final: a status no retry rule matches.
            case 1 -> 499;
            default -> 500;
        };
    }

    /** Returns the gRPC status code that matches an HTTP status of the gateway's own errors. */
    static int grpcCode(int httpStatus) {
        return switch (httpStatus) {
            case 400, 415 -> 3;
            case 404 -> 5;
            case 405, 501 -> 12;
            case 413 -> 8;
            case 503 -> 14;
            case 504 -> 4;
            case 500 -> 13;
            default -> 2;
        };
    }

    @Override
    public void relay(HttpServerResponse out, Responded response) {
        out.setStatusCode(response.status());
        ForwardedHeaders.copyResponse(response.headers(), out.headers());
        if (response.trailers().isEmpty() && response.body().length() == 0) {
            // A trailers-only response carries the status in its headers, which must end the stream.
            // Vert.x 5.0.7 sends end() as one HEADERS frame, unless out.trailers() was ever called:
            // then it sends the trailers, empty, in a frame of their own, which clients read as a
            // response without a status.
            out.end();
            return;
        }
        ForwardedHeaders.copyResponse(response.trailers(), out.trailers());
        out.end(response.body());
    }

    /** Ends the call with no message and the status in the headers, a trailers-only response. */
    @Override
    public void fail(HttpServerResponse out, int status, String message, long retryAfterSeconds) {
        if (out.ended() || out.closed()) {
            return;
        }
        out.setStatusCode(200)
                .putHeader(HttpHeaders.CONTENT_TYPE, MEDIA_TYPE)
                .putHeader("grpc-status", Integer.toString(grpcCode(status)))
                .putHeader("grpc-message", percentEncode(message));
        if (retryAfterSeconds > 0) {
            out.putHeader(RETRY_PUSHBACK, Long.toString(retryAfterSeconds * 1000));
        }
        out.end();
    }

    /** Percent-encodes a grpc-message: every byte outside printable ASCII, and '%' itself. */
    static String percentEncode(String message) {
        StringBuilder encoded = new StringBuilder();
        for (byte b : message.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c >= 0x20 && c <= 0x7e && c != '%') {
                encoded.append((char) c);
            } else {
                encoded.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return encoded.toString();
    }
}
