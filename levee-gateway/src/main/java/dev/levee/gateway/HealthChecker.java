package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.levee.core.Clock;
import dev.levee.core.NodeLoad;
import dev.levee.gateway.AttemptResult.Responded;
import dev.levee.gateway.AttemptResult.Failed;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import java.io.IOException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Active checks: every check interval, each node's {@code /v2/health/ready}, and every model check
 * interval, the readiness of each tracked model on each serving node. A readiness check that
 * passes brings a new, not-ready or ejected node into routing. A readiness check that fails to
 * connect or times out takes the node out at once and counts towards ejection.
 */
final class HealthChecker {
    private static final Logger log = LoggerFactory.getLogger(HealthChecker.class);
    private static final String READY_PATH = "/v2/health/ready";
    private static final JsonFactory JSON = new JsonFactory();
    /** A future that never completes: checks are not cancelled, they end by their timeout. */
    private static final Future<Void> NEVER = Promise.<Void>promise().future();

    private final Vertx vertx;
    private final NodeTable table;
    private final TrackedModels models;
    private final NodeClient client;
    private final GatewayOptions options;
    private final Clock clock;
    private long checkTimer = -1;
    private long modelTimer = -1;

    HealthChecker(Vertx vertx, NodeTable table, TrackedModels models, NodeClient client, GatewayOptions options) {
        this.vertx = requireNonNull(vertx, "vertx");
        this.table = requireNonNull(table, "table");
        this.models = requireNonNull(models, "models");
        this.client = requireNonNull(client, "client");
        this.options = requireNonNull(options, "options");
        this.clock = options.clock();
    }

    void start() {
        checkTimer = vertx.setPeriodic(options.checkInterval().toMillis(), id -> table.nodes().forEach(this::check));
        modelTimer = vertx.setPeriodic(options.modelCheckInterval().toMillis(), id -> checkModels());
    }

    void stop() {
        vertx.cancelTimer(checkTimer);
        vertx.cancelTimer(modelTimer);
    }

    /** Checks one node's readiness, unless a check of it is in flight. */
    void check(Node node) {
        if (!node.startCheck()) {
            return;
        }
        get(node, READY_PATH).onComplete(done -> {
            switch (done.result()) {
                case Responded response -> checked(node, response);
                case Failed failed -> {
                    boolean wasReady = node.checkFailed(options.ejectAfterFailures());
                    if (wasReady) {
                        log.warn("[{}] node failed its readiness check ({}) and is out of routing", node,
                                failed.detail());
                    } else {
                        log.debug("[{}] node failed its readiness check: {}", node, failed.detail());
                    }
                }
            }
        });
    }

    private void checked(Node node, Responded response) {
        boolean reportedNotReady = NodeLoad.parse(response.headers().get(NodeLoad.HEADER))
                .map(node::report)
                .orElse(false);
        if (response.status() == 200) {
            if (node.checkPassed(clock.nanoTime())) {
                log.info("[{}] node is ready; ramping up over {} ms", node, options.rampUp().toMillis());
                // It starts with no model known, so learn its models now rather than at the next round.
                models.current(clock.nanoTime()).forEach(key -> checkModel(node, key));
            }
        } else if (node.checkNotReady() || reportedNotReady) {
            log.info("[{}] node is not ready (status {}) and is out of routing", node, response.status());
        }
    }

    private void checkModels() {
        List<ModelKey> keys = models.current(clock.nanoTime());
        for (ModelKey key : keys) {
            checkModelEverywhere(key);
        }
    }

    /**
     * Checks a model's readiness on every serving node, and stops tracking it when every node that
     * responded lacks it. The future completes when every check has ended, each within the check
     * timeout.
     */
    Future<Void> checkModelEverywhere(ModelKey key) {
        List<Future<Node.ModelState>> checks = table.nodes().stream()
                .filter(Node::serving)
                .map(node -> checkModel(node, key))
                .toList();
        return Future.join(checks).transform(done -> {
            boolean anyAnswer = false;
            boolean anyHas = false;
            for (Future<Node.ModelState> check : checks) {
                if (check.succeeded() && check.result() != Node.ModelState.UNKNOWN) {
                    anyAnswer = true;
                    anyHas |= check.result() != Node.ModelState.NOT_FOUND;
                }
            }
            // The next request for it checks again only where a node's state is unknown.
            if (anyAnswer && !anyHas) {
                models.forget(key);
            }
            return Future.<Void>succeededFuture();
        });
    }

    /** Checks one model on one node and records the result; a failed check changes nothing. */
    private Future<Node.ModelState> checkModel(Node node, ModelKey key) {
        return get(node, key.readyPath()).map(result -> {
            Node.ModelState state = switch (result) {
                case Responded response when response.status() == 200 ->
                        readyField(response.body()) ? Node.ModelState.READY : Node.ModelState.NOT_READY;
                case Responded response when response.status() == 404 -> Node.ModelState.NOT_FOUND;
                case Responded response when response.status() == 503 -> Node.ModelState.NOT_READY;
                case Responded response -> Node.ModelState.UNKNOWN;
                case Failed failed -> Node.ModelState.UNKNOWN;
            };
            if (state != Node.ModelState.UNKNOWN) {
                node.modelState(key, state);
            }
            return state;
        });
    }

    private Future<AttemptResult> get(Node node, String path) {
        return client.send(node.address(), HttpMethod.GET, path, MultiMap.caseInsensitiveMultiMap(), Buffer.buffer(),
                options.checkTimeout().toMillis(), NEVER);
    }

    /** Returns the {@code ready} field of a v2 readiness body, false when it is missing or not JSON. */
    static boolean readyField(Buffer body) {
        try (JsonParser parser = JSON.createParser(body.getBytes())) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return false;
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                JsonToken value = parser.nextToken();
                if (field.equals("ready")) {
                    return value == JsonToken.VALUE_TRUE;
                }
                parser.skipChildren();
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }
}
