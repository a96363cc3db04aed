package dev.levee.server;

import static java.util.Objects.requireNonNull;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;

/**
 * The request handler of the REST port: sends gRPC requests, whose content type starts with
 * {@code application/grpc}, to the gRPC server and every other request to the REST API, so a
 * client needs one address for either protocol.
 */
final class ContentTypeRouter implements Handler<HttpServerRequest> {
    private static final String GRPC_MEDIA_TYPE = "application/grpc";

    private final Handler<HttpServerRequest> grpc;
    private final Handler<HttpServerRequest> rest;

    ContentTypeRouter(Handler<HttpServerRequest> grpc, Handler<HttpServerRequest> rest) {
        this.grpc = requireNonNull(grpc, "grpc");
        this.rest = requireNonNull(rest, "rest");
    }

    @Override
    public void handle(HttpServerRequest request) {
        if (isGrpc(request.getHeader(HttpHeaders.CONTENT_TYPE))) {
            grpc.handle(request);
        } else {
            rest.handle(request);
        }
    }

    /** Matches application/grpc and its variants such as application/grpc+proto, in any case. */
    static boolean isGrpc(String contentType) {
        return contentType != null && contentType.regionMatches(true, 0, GRPC_MEDIA_TYPE, 0, GRPC_MEDIA_TYPE.length());
    }
}
