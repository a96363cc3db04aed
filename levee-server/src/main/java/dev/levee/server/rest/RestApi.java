package dev.levee.server.rest;

import static java.util.Objects.requireNonNull;

import dev.levee.core.Clock;
import dev.levee.core.ErrorKind;
import dev.levee.core.InferenceException;
import dev.levee.core.InferenceRequest;
import dev.levee.core.InferenceResponse;
import dev.levee.core.NodeLoad;
import dev.levee.core.RequestControls;
import dev.levee.server.ModelControl;
import dev.levee.server.ModelRegistry;
import dev.levee.server.ModelState;
import dev.levee.server.NodeMetrics;
import dev.levee.server.NodeState;
import dev.levee.server.TritonModelConfig;
import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The KServe Open Inference Protocol v2 REST API, plus {@code /metrics} and the web page at
 * {@code /}. Runs on Vert.x event loops: decoding and encoding happen here, model work happens on
 * the schedulers' instance threads. Every response carries the node's load report in the
 * {@link NodeLoad#HEADER} header.
 */
public final class RestApi implements Handler<HttpServerRequest> {
    private static final Logger log = LoggerFactory.getLogger(RestApi.class);
    private static final String JSON = "application/json";
    /** Header for plain HTTP clients: the request's timeout in milliseconds. */
    public static final String TIMEOUT_HEADER = "Levee-Timeout-Ms";
    /** Header for plain HTTP clients: {@code low} or {@code normal}. */
    public static final String PRIORITY_HEADER = "Levee-Priority";
    /**
     * Path segments allowed after {@code /v2/models/{model}[/versions/{version}]}. The empty one
     * selects the model's metadata.
     */
    private static final Set<String> MODEL_ACTIONS = Set.of("", "ready", "infer", "config", "stats");

    private final ModelRegistry registry;
    private final RepositoryEndpoints repository;
    private final NodeMetrics metrics;
    private final NodeState state;
    private final Clock clock;
    private final long maxBodyBytes;
    private final Buffer indexPage;

    public RestApi(ModelRegistry registry, ModelControl control, NodeMetrics metrics, NodeState state, Clock clock,
            long maxBodyBytes, byte[] indexPage) {
        this.registry = requireNonNull(registry, "registry");
        this.repository = new RepositoryEndpoints(requireNonNull(control, "control"), maxBodyBytes);
        this.metrics = requireNonNull(metrics, "metrics");
        this.state = requireNonNull(state, "state");
        this.clock = requireNonNull(clock, "clock");
        this.maxBodyBytes = maxBodyBytes;
        this.indexPage = Buffer.buffer(indexPage);
    }

    @Override
    public void handle(HttpServerRequest request) {
        // Computed as the headers are written, so the report counts the work left after this request.
        HttpServerResponse response = request.response();
        response.headersEndHandler(v -> response.putHeader(NodeLoad.HEADER, state.load(registry).headerValue()));
        try {
            if (request.path().startsWith(RepositoryEndpoints.MODELS_PREFIX)) {
                // Before PathSegments splits the path: an encoded '/' must stay inside the model name.
                repository.routeModelAction(request);
            } else {
                route(request, PathSegments.of(request.path()));
            }
        } catch (InferenceException | MethodNotAllowed e) {
            sendError(request, e);
        } catch (RuntimeException e) {
            log.warn("[{} {}] request failed inside the node", request.method(), request.path(), e);
            sendError(request, InferenceException.internal("internal error", e));
        }
    }

    private void route(HttpServerRequest request, List<String> path) {
        if (path.isEmpty()) {
            requireMethod(request, HttpMethod.GET);
            request.response().putHeader(HttpHeaders.CONTENT_TYPE, "text/html; charset=utf-8").end(indexPage);
            return;
        }
        if (path.equals(List.of("metrics"))) {
            requireMethod(request, HttpMethod.GET);
            request.response().putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
                    .end(metrics.scrape());
            return;
        }
        if (!path.getFirst().equals("v2")) {
            throw InferenceException.notFound("no endpoint at " + request.path());
        }
        if (path.size() == 1) {
            requireMethod(request, HttpMethod.GET);
            sendJson(request, 200, JsonResponseEncoder.object(Map.of(
                    "name", "levee", "version", NodeState.VERSION, "extensions", NodeState.EXTENSIONS)));
        } else if (path.size() == 3 && path.get(1).equals("health")) {
            health(request, path.get(2));
        } else if (path.get(1).equals("models")) {
            model(request, path.subList(2, path.size()));
        } else if (path.get(1).equals("repository")) {
            repository.route(request, path.subList(2, path.size()));
        } else {
            throw InferenceException.notFound("no endpoint at " + request.path());
        }
    }

    private void health(HttpServerRequest request, String probe) {
        requireMethod(request, HttpMethod.GET);
        switch (probe) {
            case "live" -> sendJson(request, 200, JsonResponseEncoder.object(Map.of("live", true)));
            case "ready" -> {
                boolean ready = state.ready(registry);
                sendJson(request, ready ? 200 : 503, JsonResponseEncoder.object(Map.of("ready", ready)));
            }
            default -> throw InferenceException.notFound("no endpoint at " + request.path());
        }
    }

    /**
     * Handles {@code {model}[/versions/{version}][/ready|/infer|/config|/stats]}, and {@code stats}
     * for the statistics of every model. As in Triton, {@code /v2/models/stats} is that endpoint,
     * so the metadata of a model named {@code stats} cannot be read over REST.
     */
    private void model(HttpServerRequest request, List<String> rest) {
        if (rest.isEmpty()) {
            throw InferenceException.notFound("no endpoint at " + request.path());
        }
        if (rest.equals(List.of("stats"))) {
            requireMethod(request, HttpMethod.GET);
            sendJson(request, 200, JsonResponseEncoder.object(
                    ExtensionJson.statistics(registry.statisticsSchedulers("", ""))));
            return;
        }
        String model = rest.getFirst();
        String version = "";
        int next = 1;
        if (rest.size() >= 3 && rest.get(1).equals("versions")) {
            version = rest.get(2);
            next = 3;
        }
        String action = rest.size() == next ? "" : rest.get(next);
        if (rest.size() > next + 1 || !MODEL_ACTIONS.contains(action)) {
            throw InferenceException.notFound("no endpoint at " + request.path());
        }
        switch (action) {
            case "infer" -> infer(request, model, version);
            case "ready" -> {
                requireMethod(request, HttpMethod.GET);
                sendModelReadiness(request, model, version);
            }
            case "config" -> {
                requireMethod(request, HttpMethod.GET);
                TritonModelConfig config = TritonModelConfig.of(registry.find(model, version));
                sendJson(request, 200, JsonResponseEncoder.object(ExtensionJson.config(config)));
            }
            case "stats" -> {
                requireMethod(request, HttpMethod.GET);
                sendJson(request, 200, JsonResponseEncoder.object(
                        ExtensionJson.statistics(registry.statisticsSchedulers(model, version))));
            }
            default -> {
                requireMethod(request, HttpMethod.GET);
                sendJson(request, 200, JsonResponseEncoder.metadata(registry.metadata(model, version)));
            }
        }
    }

    /**
     * Sends 200 with {@code "ready": true} when the model (or version) is READY, and 503 with its
     * state otherwise, so that status-only probes and tritonclient's is_model_ready both read it.
     */
    private void sendModelReadiness(HttpServerRequest request, String model, String version) {
        ModelState modelState = registry.state(model, version);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("name", model);
        if (!version.isEmpty()) {
            body.put("version", version);
        }
        body.put("ready", modelState == ModelState.READY);
        body.put("state", modelState.name());
        sendJson(request, modelState == ModelState.READY ? 200 : 503, JsonResponseEncoder.object(body));
    }

    private void infer(HttpServerRequest request, String model, String version) {
        long arrival = clock.nanoTime();
        requireMethod(request, HttpMethod.POST);
        String contentType = request.getHeader(HttpHeaders.CONTENT_TYPE);
        if (contentType != null && !isMediaType(contentType, JSON)
                && !isMediaType(contentType, BinaryResponseEncoder.OCTET_STREAM)) {
            throw InferenceException.of(ErrorKind.UNSUPPORTED_MEDIA_TYPE, "content type '" + contentType
                    + "' is not supported (expected: " + JSON + " or " + BinaryResponseEncoder.OCTET_STREAM + ")");
        }
        RequestBody.read(request, maxBodyBytes, body -> {
            try {
                // Looked up before decoding, so an unknown model gets 404 whatever the body holds.
                registry.find(model, version);
                DecodedRequest decoded = BinaryRequestDecoder.decode(body.getBytes(),
                        request.getHeader(BinaryRequestDecoder.HEADER_LENGTH), model, version,
                        InferenceRequest.NO_DEADLINE);
                InferenceRequest inference = withControls(request, decoded.request(), arrival);
                if (!state.accepting()) {
                    throw InferenceException.retryLater(ErrorKind.UNAVAILABLE, "node is shutting down", 1);
                }
                dispatch(request, registry.submit(model, version, inference), decoded.binaryOutputs(), model,
                        arrival);
            } catch (InferenceException e) {
                metrics.request(model, outcome(e), clock.nanoTime() - arrival);
                sendError(request, e);
            } catch (RuntimeException e) {
                // Without this the fault would end in Vert.x's handler and the client would wait forever.
                log.warn("[{} {}] request failed inside the node", request.method(), request.path(), e);
                InferenceException internal = InferenceException.internal("internal error", e);
                metrics.request(model, outcome(internal), clock.nanoTime() - arrival);
                sendError(request, internal);
            }
        }, error -> {
            metrics.request(model, outcome(error), clock.nanoTime() - arrival);
            sendError(request, error);
        });
    }

    /**
     * Applies the timeout and priority a client may send as request parameters or as headers. When
     * both carry a timeout, the shorter one wins.
     */
    private static InferenceRequest withControls(HttpServerRequest http, InferenceRequest request, long arrival) {
        request = RequestControls.applyParameters(request, arrival);
        String timeout = http.getHeader(TIMEOUT_HEADER);
        if (timeout != null) {
            long deadline = RequestControls.deadline(arrival,
                    RequestControls.timeoutNanosFromMillis(TIMEOUT_HEADER, timeout));
            if (deadline < request.deadlineNanos()) {
                request = request.withDeadline(deadline);
            }
        }
        String priority = http.getHeader(PRIORITY_HEADER);
        if (priority != null) {
            request = request.withPriority(RequestControls.parsePriority(PRIORITY_HEADER, priority));
        }
        return request;
    }

    private void dispatch(HttpServerRequest request, CompletableFuture<InferenceResponse> future,
            BinaryOutputs binaryOutputs, String model, long arrival) {
        if (future.isDone()) {
            complete(request, future, binaryOutputs, model, arrival);
            return;
        }
        // A client that goes away takes its queued request with it.
        request.response().closeHandler(closed -> future.cancel(false));
        Context context = Vertx.currentContext();
        future.whenComplete((response, error) -> {
            if (!future.isCancelled()) {
                context.runOnContext(v -> complete(request, future, binaryOutputs, model, arrival));
            }
        });
    }

    private void complete(HttpServerRequest request, CompletableFuture<InferenceResponse> future,
            BinaryOutputs binaryOutputs, String model, long arrival) {
        InferenceResponse response;
        try {
            response = future.join();
        } catch (CompletionException e) {
            InferenceException error = e.getCause() instanceof InferenceException ie
                    ? ie
                    : InferenceException.internal("internal error", e.getCause());
            metrics.request(model, outcome(error), clock.nanoTime() - arrival);
            sendError(request, error);
            return;
        }
        BinaryResponseEncoder.Encoded encoded;
        try {
            encoded = BinaryResponseEncoder.encode(response, binaryOutputs);
        } catch (InferenceException e) {
            metrics.request(model, outcome(e), clock.nanoTime() - arrival);
            sendError(request, e);
            return;
        } catch (RuntimeException e) {
            log.warn("[{}] response of model '{}' could not be encoded", response.id(), model, e);
            InferenceException internal = InferenceException.internal("internal error", e);
            metrics.request(model, outcome(internal), clock.nanoTime() - arrival);
            sendError(request, internal);
            return;
        }
        metrics.request(model, "success", clock.nanoTime() - arrival);
        HttpServerResponse http = request.response();
        if (http.ended() || http.closed()) {
            return;
        }
        if (encoded.hasBinaryData()) {
            http.putHeader(BinaryRequestDecoder.HEADER_LENGTH, Integer.toString(encoded.jsonLength()));
        }
        http.setStatusCode(200).putHeader(HttpHeaders.CONTENT_TYPE, encoded.contentType()).end(encoded.body());
    }

    private static String outcome(InferenceException e) {
        return e.kind().name().toLowerCase(java.util.Locale.ROOT);
    }

    private static boolean isMediaType(String contentType, String expected) {
        String mediaType = contentType.split(";", 2)[0].trim();
        return mediaType.equalsIgnoreCase(expected);
    }

    static void requireMethod(HttpServerRequest request, HttpMethod method) {
        if (!request.method().equals(method)) {
            throw new MethodNotAllowed(request.method() + " is not allowed on " + request.path()
                    + " (expected: " + method + ")", method);
        }
    }

    static void sendJson(HttpServerRequest request, int status, byte[] body) {
        HttpServerResponse response = request.response();
        if (response.ended() || response.closed()) {
            return;
        }
        response.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, JSON).end(Buffer.buffer(body));
    }

    static void sendError(HttpServerRequest request, RuntimeException error) {
        HttpServerResponse response = request.response();
        if (response.ended() || response.closed()) {
            return;
        }
        if (error instanceof MethodNotAllowed notAllowed) {
            response.putHeader(HttpHeaders.ALLOW, notAllowed.allowed.name());
            sendJson(request, 405, JsonResponseEncoder.error(notAllowed.getMessage()));
            return;
        }
        InferenceException failure = (InferenceException) error;
        failure.retryAfterSeconds().ifPresent(
                seconds -> response.putHeader(HttpHeaders.RETRY_AFTER, Long.toString(seconds)));
        if (failure.kind() == ErrorKind.PAYLOAD_TOO_LARGE && request.version() != HttpVersion.HTTP_2) {
            // The rest of an oversized body is never read, so this connection cannot carry another request.
            response.putHeader(HttpHeaders.CONNECTION, "close");
            response.endHandler(v -> request.connection().close());
        }
        sendJson(request, HttpStatuses.of(failure.kind()), JsonResponseEncoder.error(failure.getMessage()));
    }

    /** A request with the wrong HTTP method: 405, outside the inference error vocabulary. */
    static final class MethodNotAllowed extends RuntimeException {
        private final HttpMethod allowed;

        MethodNotAllowed(String message, HttpMethod allowed) {
            super(message, null, false, false);
            this.allowed = allowed;
        }
    }
}
