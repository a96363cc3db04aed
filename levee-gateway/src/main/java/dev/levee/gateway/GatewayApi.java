package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The gateway's request handler. It serves {@code /metrics} and the health endpoints itself, over
 * REST and gRPC, and forwards the rest of the v2 API to nodes: model endpoints and calls to a node
 * chosen for the model, and server metadata, the repository index and the web page to any serving
 * node. Loading and unloading models through the gateway is not served (501). A request whose
 * content type starts with {@code application/grpc} is a gRPC call, as on a node.
 */
final class GatewayApi implements Handler<HttpServerRequest> {

    /** The message of the 501 response to load and unload requests, which the gateway does not serve. */
    static final String LOAD_THROUGH_NODES = "the gateway does not load or unload models; send the request to each "
            + "node's own address";
    /** Path segments a node serves after {@code /v2/models/{model}[/versions/{version}]}, or no segment at all. */
    private static final Set<String> MODEL_ACTIONS = Set.of("ready", "infer", "config", "stats");

    private final Proxy proxy;

    GatewayApi(Proxy proxy) {
        this.proxy = requireNonNull(proxy, "proxy");
    }

    @Override
    public void handle(HttpServerRequest request) {
        String contentType = request.getHeader(HttpHeaders.CONTENT_TYPE);
        String grpcType = GrpcForwarding.MEDIA_TYPE;
        if (contentType != null && contentType.regionMatches(true, 0, grpcType, 0, grpcType.length())) {
            grpc(request);
            return;
        }
        Optional<List<String>> segments = PathSegments.of(request.path());
        if (segments.isEmpty()) {
            Replies.error(request.response(), 400, "request path '" + request.path()
                    + "' has an invalid percent-encoding", 0);
            return;
        }
        List<String> path = segments.get();
        if (path.equals(List.of("metrics"))) {
            if (requireGet(request)) {
                request.response()
                        .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
                        .end(proxy.metrics.scrape());
            }
        } else if (path.equals(List.of("v2", "health", "live"))) {
            if (requireGet(request)) {
                Replies.health(request.response(), "live", true);
            }
        } else if (path.equals(List.of("v2", "health", "ready"))) {
            if (requireGet(request)) {
                Replies.health(request.response(), "ready", proxy.ready());
            }
        } else if (path.equals(List.of("v2", "repository", "index"))) {
            // Every node of a deployment serves the same repository, so one node's index serves for all.
            proxy.forwardRest(request, ModelKey.NONE);
        } else if (path.size() >= 2 && path.get(0).equals("v2") && path.get(1).equals("repository")) {
            Replies.error(request.response(), 501, LOAD_THROUGH_NODES, 0);
        } else if (path.size() >= 3 && path.get(0).equals("v2") && path.get(1).equals("models")) {
            proxy.forwardRest(request, modelKey(path));
        } else if (path.isEmpty() || path.equals(List.of("v2"))) {
            proxy.forwardRest(request, ModelKey.NONE);
        } else {
            Replies.error(request.response(), 404, "no endpoint at " + request.path(), 0);
        }
    }

    /**
     * Returns the model key of {@code /v2/models/{model}[/versions/{version}][/ready|/infer|/config|/stats]},
     * or {@link ModelKey#NONE} for another path under {@code /v2/models}. A node responds to such a
     * path with 404, which must not mark the model as missing there. {@code /v2/models/stats}, the
     * statistics of every model, names no model either, so one node returns its own.
     */
    static ModelKey modelKey(List<String> path) {
        if (path.size() == 3 && path.get(2).equals("stats")) {
            return ModelKey.NONE;
        }
        String model = path.get(2);
        int next = 3;
        String version = "";
        if (path.size() >= 5 && path.get(3).equals("versions")) {
            version = path.get(4);
            next = 5;
        }
        if (path.size() == next) {
            return new ModelKey(model, version);
        }
        String action = path.get(next);
        if (path.size() == next + 1 && MODEL_ACTIONS.contains(action)) {
            return new ModelKey(model, version);
        }
        return ModelKey.NONE;
    }

    /** Handles a call of {@code inference.GRPCInferenceService}: health here, the rest on a node. */
    private void grpc(HttpServerRequest request) {
        String path = request.path();
        String method = path.startsWith(GrpcForwarding.SERVICE_PATH)
                ? path.substring(GrpcForwarding.SERVICE_PATH.length())
                : "";
        switch (method) {
            case "ServerLive" -> respondBoolean(request, true);
            case "ServerReady" -> respondBoolean(request, proxy.ready());
            case "ServerMetadata", "ModelReady", "ModelMetadata", "ModelInfer", "ModelConfig", "ModelStatistics",
                    "RepositoryIndex" -> proxy.forwardGrpc(request, method);
            case "RepositoryModelLoad", "RepositoryModelUnload" ->
                    new GrpcForwarding(method).fail(request.response(), 501, LOAD_THROUGH_NODES, 0);
            default -> new GrpcForwarding(method).fail(request.response(), 501,
                    "method " + path + " is not served by the gateway (served: ServerLive, ServerReady, "
                    + "ServerMetadata, ModelReady, ModelMetadata, ModelInfer, ModelConfig, ModelStatistics, "
                    + "RepositoryIndex)", 0);
        }
    }

    /** Ends a ServerLive or ServerReady call with a response whose one boolean field is {@code value}. */
    private void respondBoolean(HttpServerRequest request, boolean value) {
        BodyReader.read(request, proxy.options.maxBodyBytes(), body -> request.response()
                        .putHeader(HttpHeaders.CONTENT_TYPE, GrpcForwarding.MEDIA_TYPE)
                        .putTrailer("grpc-status", "0")
                        .end(GrpcMessages.booleanMessage(value)),
                message -> new GrpcForwarding("").fail(request.response(), 413, message, 0));
    }

    private static boolean requireGet(HttpServerRequest request) {
        if (request.method() == HttpMethod.GET) {
            return true;
        }
        request.response().putHeader(HttpHeaders.ALLOW, "GET");
        Replies.error(request.response(), 405, request.method() + " is not allowed on " + request.path()
                + " (expected: GET)", 0);
        return false;
    }
}
