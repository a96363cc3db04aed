package dev.levee.gateway;

import dev.levee.core.InferenceException;
import dev.levee.core.NodeLoad;
import dev.levee.gateway.AttemptResult.Responded;
import dev.levee.gateway.AttemptResult.Failed;
import dev.levee.gateway.AttemptResult.Failure;
import dev.levee.gateway.RoutingPolicy.Pick;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import java.util.HashSet;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client request through the gateway, REST or gRPC as its {@link Forwarding} sets: reads the
 * body, sets the deadline, sends attempts to nodes chosen by the {@link RoutingPolicy}, and
 * relays the first response that is final. Responses are judged by HTTP status, gRPC ones by the
 * matching HTTP status.
 *
 * <p>An attempt is retried on a node not tried yet when it failed to connect, was reset, timed out
 * or got 503, and when it got 500 from the first node only, so a request that breaks the model does
 * not travel through the whole cluster. Every other response, 4xx included, is final. A retry also
 * needs time left before the deadline, an attempt left of {@link GatewayOptions#maxAttempts()},
 * and room in the {@link RetryBudget}. Without all three, the last response is relayed as it is.
 *
 * <p>All methods run on the Vert.x context of the client's request, one at a time: the node
 * client completes attempts on the context that sent them. The fields therefore need no lock.
 */
final class ProxyCall {
    private static final Logger log = LoggerFactory.getLogger(ProxyCall.class);
    /** Minimum time left before the deadline for another attempt to be sent. */
    private static final long MIN_ATTEMPT_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    /** Number of 500 responses after which a request is not retried. */
    private static final int MAX_INTERNAL_ERRORS = 2;

    private final Proxy proxy;
    private final HttpServerRequest request;
    private final Forwarding forwarding;
    private final NodeClient client;
    private final long arrivalNanos;
    /** The model the request names, known once the body is read. */
    private ModelKey key = ModelKey.NONE;
    /** Completed when the client goes away, which resets the attempt in flight. */
    private final Promise<Void> clientGone = Promise.promise();
    private final Set<Node> tried = new HashSet<>();

    private long deadlineNanos;
    private Buffer body;
    /** The client's headers less hop-by-hop ones, as every attempt sends them. */
    private final MultiMap headers = MultiMap.caseInsensitiveMultiMap();
    private int attempts;
    private int internalErrors;
    /** The outcome of the latest attempt, relayed when no further attempt is made. */
    private AttemptResult last;
    private boolean finished;

    ProxyCall(Proxy proxy, HttpServerRequest request, Forwarding forwarding, NodeClient client) {
        this.proxy = proxy;
        this.request = request;
        this.forwarding = forwarding;
        this.client = client;
        this.arrivalNanos = proxy.options.clock().nanoTime();
    }

    void start() {
        request.response().closeHandler(closed -> clientWentAway());
        BodyReader.read(request, proxy.options.maxBodyBytes(), this::received, message -> {
            if (request.version() != HttpVersion.HTTP_2) {
                // The rest of the body is not read, so this HTTP/1.1 connection cannot carry another request.
                request.response().putHeader("Connection", "close");
            }
            respondError(413, message, 0);
        });
    }

    private void received(Buffer received) {
        if (finished) {
            return;
        }
        body = received;
        OptionalLong timeoutNanos;
        try {
            forwarding.checkRequest(request, received);
            Forwarding.Routing routing = forwarding.read(request, received);
            timeoutNanos = routing.timeoutNanos();
            key = routing.model();
        } catch (InferenceException e) {
            respondError(400, e.getMessage(), 0);
            return;
        } catch (RuntimeException e) {
            // These readers look only at the client's bytes, so a failure here comes from the client's input.
            // The call gets its one response now rather than waiting for its deadline.
            log.warn("[{} {}] the gateway could not read the request", request.method(), request.path(), e);
            respondError(400, "the request could not be read: " + e.getClass().getSimpleName(), 0);
            return;
        }
        // The client's timeout, or the gateway's default when it set none.
        deadlineNanos = arrivalNanos + timeoutNanos.orElse(proxy.options.defaultTimeout().toNanos());
        ForwardedHeaders.copyRequest(request.headers(), headers);
        proxy.budget.recordRequest();
        if (key != ModelKey.NONE && proxy.models.requested(key, arrivalNanos) && unknownSomewhere()) {
            // The first request for a model waits for one round of readiness checks, so that it does not
            // get a 404 from a node that lacks the model while another node has it.
            proxy.health.checkModelEverywhere(key).onComplete(checked -> {
                if (!finished) {
                    attemptNext();
                }
            });
        } else {
            attemptNext();
        }
    }

    /** Returns whether some serving node's readiness for the request's model is not known. */
    private boolean unknownSomewhere() {
        for (Node node : proxy.table.nodes()) {
            if (node.serving() && node.modelState(key) == Node.ModelState.UNKNOWN) {
                return true;
            }
        }
        return false;
    }

    /** Sends the next attempt, or ends the request when the deadline, the nodes or the budget allow none. */
    private void attemptNext() {
        long remaining = deadlineNanos - proxy.options.clock().nanoTime();
        if (remaining < MIN_ATTEMPT_NANOS) {
            deadlinePassed();
            return;
        }
        Pick pick = key == ModelKey.NONE
                ? proxy.policy.pickAny(proxy.table.nodes(), tried)
                : proxy.policy.pick(proxy.table.nodes(), key, tried);
        switch (pick) {
            case Pick.Chosen chosen -> {
                if (attempts > 0) {
                    if (!proxy.budget.tryRetry()) {
                        proxy.metrics.retryDenied();
                        log.debug("[{} {}] retry budget spent, relaying the last response", request.method(),
                                request.path());
                        relayLast();
                        return;
                    }
                    proxy.metrics.retry(reason(last));
                }
                send(chosen.node(), remaining);
            }
            case Pick.NoNodeServing none -> noCandidate(503, "no node is ready to serve the request", 1);
            case Pick.ModelNotFound notFound -> noCandidate(404, key.version().isEmpty()
                    ? "model '" + key.model() + "' is not found on any node"
                    : "model '" + key.model() + "' has no version '" + key.version() + "' on any node", 0);
            case Pick.ModelNotReady notReady ->
                    noCandidate(503, "model '" + key + "' is not ready on any node", 1);
        }
    }

    private void send(Node node, long remainingNanos) {
        attempts++;
        tried.add(node);
        long token = node.attemptStarted();
        long timeoutNanos = Math.min(remainingNanos, proxy.options.attemptTimeout().toNanos());
        MultiMap attemptHeaders = MultiMap.caseInsensitiveMultiMap().addAll(headers);
        // The deadline travels on, so the node drops the request rather than run it too late.
        forwarding.prepareAttempt(attemptHeaders, remainingNanos);
        client.send(node.address(), request.method(), request.uri(), attemptHeaders, body,
                        TimeUnit.NANOSECONDS.toMillis(timeoutNanos + 999_999), clientGone.future())
                .onComplete(done -> {
                    node.attemptFinished(token);
                    if (!finished) {
                        switch (done.result()) {
                            case Responded response -> responded(node, response);
                            case Failed failed -> failed(node, failed);
                        }
                    }
                });
    }

    private void responded(Node node, Responded response) {
        int status = forwarding.status(response);
        node.responded();
        boolean reportedNotReady = NodeLoad.parse(response.headers().get(NodeLoad.HEADER))
                .map(node::report)
                .orElse(false);
        if (reportedNotReady) {
            log.info("[{}] node reports not ready and is out of routing", node);
        }
        proxy.metrics.attempt(node, forwarding.label(response));
        if (key != ModelKey.NONE) {
            if (status == 200) {
                node.modelState(key, Node.ModelState.READY);
            } else if (status == 404) {
                node.modelState(key, Node.ModelState.NOT_FOUND);
            }
        }
        last = response;
        boolean retryable = switch (status) {
            case 503 -> true;
            case 500 -> ++internalErrors < MAX_INTERNAL_ERRORS;
            default -> false;
        };
        if (retryable && attempts < proxy.options.maxAttempts()) {
            attemptNext();
        } else {
            relay(response);
        }
    }

    private void failed(Node node, Failed failed) {
        proxy.metrics.attempt(node, failed.failure().label());
        if (failed.failure().nodeFault() && node.failed(proxy.options.ejectAfterFailures())) {
            log.warn("[{}] node ejected after {} consecutive failures, the last: {}", node,
                    proxy.options.ejectAfterFailures(), failed.detail());
        }
        log.debug("[{} {}] attempt at node {} failed: {}", request.method(), request.path(), node, failed.detail());
        last = failed;
        if (attempts < proxy.options.maxAttempts()) {
            attemptNext();
        } else {
            relayLast();
        }
    }

    private String reason(AttemptResult result) {
        return switch (result) {
            case Responded response -> Integer.toString(forwarding.status(response));
            case Failed failed -> failed.failure().label();
        };
    }

    /**
     * Ends the request when no node is left to try: relays the last response if there was one, or
     * else responds with {@code status}.
     */
    private void noCandidate(int status, String message, long retryAfterSeconds) {
        if (last != null) {
            relayLast();
        } else {
            respondError(status, message, retryAfterSeconds);
        }
    }

    private void deadlinePassed() {
        if (last instanceof Responded response) {
            relay(response);
        } else {
            respondError(504, "no node responded within the request's deadline", 0);
        }
    }

    private void relayLast() {
        switch (last) {
            case Responded response -> relay(response);
            case Failed failed when failed.failure() == Failure.TIMEOUT
                    && proxy.options.clock().nanoTime() - deadlineNanos >= 0 ->
                    respondError(504, "no node responded within the request's deadline", 0);
            case Failed failed -> respondError(503, "no node could serve the request; the last attempt failed ("
                    + failed.failure().label() + ")", 1);
        }
    }

    private void relay(Responded fromNode) {
        HttpServerResponse response = request.response();
        if (finished || response.ended() || response.closed()) {
            return;
        }
        finish(forwarding.status(fromNode));
        forwarding.relay(response, fromNode);
    }

    private void respondError(int status, String message, long retryAfterSeconds) {
        if (finished) {
            return;
        }
        finish(status);
        forwarding.fail(request.response(), status, message, retryAfterSeconds);
    }

    private void finish(int status) {
        finished = true;
        proxy.metrics.request(GatewayMetrics.outcome(status), proxy.options.clock().nanoTime() - arrivalNanos);
    }

    private void clientWentAway() {
        if (finished) {
            return;
        }
        finished = true;
        clientGone.tryComplete();
        proxy.metrics.request("cancelled", proxy.options.clock().nanoTime() - arrivalNanos);
    }
}
