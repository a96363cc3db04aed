package dev.levee.server.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.levee.core.InferenceException;
import dev.levee.runtime.ModelRepository;
import dev.levee.server.ModelControl;
import dev.levee.server.ModelIndexEntry;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.io.IOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;

/**
 * The model repository extension over REST, as Triton and KServe define it:
 * {@code POST /v2/repository/index}, {@code POST /v2/repository/models/{name}/load} and
 * {@code POST /v2/repository/models/{name}/unload}. Bodies are optional JSON objects, read
 * whatever their content type, since Triton's clients send none.
 */
final class RepositoryEndpoints {
    /** Path prefix of load and unload requests; the model name follows it. */
    static final String MODELS_PREFIX = "/v2/repository/models/";

    private final ModelControl control;
    private final long maxBodyBytes;

    RepositoryEndpoints(ModelControl control, long maxBodyBytes) {
        this.control = control;
        this.maxBodyBytes = maxBodyBytes;
    }

    /** Handles {@code POST /v2/repository/index}; {@code rest} is the path after {@code /v2/repository}. */
    void route(HttpServerRequest request, List<String> rest) {
        if (!rest.equals(List.of("index"))) {
            throw InferenceException.notFound("no endpoint at " + request.path());
        }
        RestApi.requireMethod(request, HttpMethod.POST);
        readObject(request, body -> {
            JsonNode ready = body.path("ready");
            if (!ready.isMissingNode() && !ready.isBoolean()) {
                throw InferenceException.invalid("'ready' must be true or false, but is " + ready);
            }
            return CompletableFuture.completedFuture(index(control.index(ready.asBoolean(false))));
        });
    }

    /**
     * Handles a request whose path starts with {@link #MODELS_PREFIX}. The model name is taken from
     * the raw path and percent-decoded once, so an encoded separator stays in the name, where the
     * name check rejects it, instead of splitting the path.
     */
    void routeModelAction(HttpServerRequest request) {
        String tail = request.path().substring(MODELS_PREFIX.length());
        int slash = tail.lastIndexOf('/');
        String action = slash < 0 ? "" : tail.substring(slash + 1);
        if (!action.equals("load") && !action.equals("unload")) {
            throw InferenceException.notFound("no endpoint at " + request.path());
        }
        RestApi.requireMethod(request, HttpMethod.POST);
        String name;
        try {
            name = PathSegments.decode(tail.substring(0, slash));
        } catch (IllegalArgumentException e) {
            throw InferenceException.invalid(ModelRepository.INVALID_NAME_MESSAGE);
        }
        readObject(request, body -> {
            JsonNode parameters = parameters(body);
            if (action.equals("load")) {
                checkLoadParameters(parameters);
                return control.load(name).thenApply(done -> new byte[0]);
            }
            JsonNode dependents = parameters.path("unload_dependents");
            if (!dependents.isMissingNode() && !dependents.isBoolean()) {
                throw InferenceException.invalid("parameter 'unload_dependents' must be true or false, but is "
                        + dependents);
            }
            return control.unload(name).thenApply(done -> new byte[0]);
        });
    }

    private static JsonNode parameters(JsonNode body) {
        JsonNode parameters = body.path("parameters");
        if (parameters.isMissingNode() || parameters.isNull()) {
            return JsonRequestDecoder.MAPPER.createObjectNode();
        }
        if (!parameters.isObject()) {
            throw InferenceException.invalid("'parameters' must be a JSON object, but is " + parameters);
        }
        return parameters;
    }

    /**
     * Rejects Triton's {@code config} and {@code file:} load parameters, which override the model's
     * folder: ignoring them would load something other than what the client sent.
     */
    private static void checkLoadParameters(JsonNode parameters) {
        Iterator<String> names = parameters.fieldNames();
        while (names.hasNext()) {
            ModelControl.checkLoadParameter(names.next());
        }
    }

    private static byte[] index(List<ModelIndexEntry> rows) {
        return JsonResponseEncoder.array(rows.stream().map(RepositoryEndpoints::indexRow).toList());
    }

    private static Map<String, String> indexRow(ModelIndexEntry row) {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("name", row.name());
        if (!row.version().isEmpty()) {
            fields.put("version", row.version());
        }
        fields.put("state", row.state().name());
        fields.put("reason", row.reason());
        return fields;
    }

    /**
     * Reads the body as a JSON object (an empty body counts as {@code {}}), runs {@code action} on
     * it, and sends what its future completes with: 200 with that body, which may be empty, or the
     * error.
     */
    private void readObject(HttpServerRequest request, Function<JsonNode, CompletableFuture<byte[]>> action) {
        Context context = Vertx.currentContext();
        RequestBody.read(request, maxBodyBytes, body -> {
            CompletableFuture<byte[]> result;
            try {
                result = action.apply(parse(body));
            } catch (InferenceException e) {
                RestApi.sendError(request, e);
                return;
            }
            result.whenComplete((response, error) -> context.runOnContext(v -> {
                if (error == null) {
                    sendOk(request, response);
                } else {
                    RestApi.sendError(request, unwrap(error));
                }
            }));
        }, error -> RestApi.sendError(request, error));
    }

    private static JsonNode parse(Buffer body) {
        if (body.toString().isBlank()) {
            return JsonRequestDecoder.MAPPER.createObjectNode();
        }
        JsonNode json;
        try {
            json = JsonRequestDecoder.MAPPER.readTree(body.getBytes());
        } catch (JsonProcessingException e) {
            throw InferenceException.invalid("request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw InferenceException.invalid("request body could not be read: " + e.getMessage());
        }
        if (json == null || !json.isObject()) {
            throw InferenceException.invalid("request body must be a JSON object");
        }
        return json;
    }

    private static InferenceException unwrap(Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        return cause instanceof InferenceException e ? e : InferenceException.internal("internal error", cause);
    }

    private static void sendOk(HttpServerRequest request, byte[] body) {
        HttpServerResponse response = request.response();
        if (response.ended() || response.closed()) {
            return;
        }
        if (body.length == 0) {
            response.setStatusCode(200).end();
        } else {
            RestApi.sendJson(request, 200, body);
        }
    }
}
