package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import io.vertx.core.http.HttpServerRequest;
import java.util.concurrent.atomic.AtomicBoolean;

/** The parts that every {@link ProxyCall} shares, wired once per gateway. */
final class Proxy {
    final NodeTable table;
    final RoutingPolicy policy;
    final RetryBudget budget;
    /** The HTTP/1.1 client for REST requests and readiness checks. */
    final NodeClient restClient;
    /** The HTTP/2 client for gRPC requests. */
    final NodeClient grpcClient;
    final HealthChecker health;
    final TrackedModels models;
    final GatewayMetrics metrics;
    final GatewayOptions options;
    /** Set when the gateway starts to drain: it reports not ready but still forwards requests. */
    final AtomicBoolean draining;

    Proxy(NodeTable table, RoutingPolicy policy, RetryBudget budget, NodeClient restClient, NodeClient grpcClient,
            HealthChecker health, TrackedModels models, GatewayMetrics metrics, GatewayOptions options,
            AtomicBoolean draining) {
        this.table = requireNonNull(table, "table");
        this.policy = requireNonNull(policy, "policy");
        this.budget = requireNonNull(budget, "budget");
        this.restClient = requireNonNull(restClient, "restClient");
        this.grpcClient = requireNonNull(grpcClient, "grpcClient");
        this.health = requireNonNull(health, "health");
        this.models = requireNonNull(models, "models");
        this.metrics = requireNonNull(metrics, "metrics");
        this.options = requireNonNull(options, "options");
        this.draining = requireNonNull(draining, "draining");
    }

    /** Returns whether the gateway reports ready: it is not draining, and some node is serving. */
    boolean ready() {
        return !draining.get() && table.anyServing();
    }

    /** Forwards a REST request to a node chosen for {@code key}, or to any node for {@link ModelKey#NONE}. */
    void forwardRest(HttpServerRequest request, ModelKey key) {
        new ProxyCall(this, request, new RestForwarding(key), restClient).start();
    }

    /** Forwards a call of the gRPC service method {@code method} to a node chosen for the model it names. */
    void forwardGrpc(HttpServerRequest request, String method) {
        new ProxyCall(this, request, new GrpcForwarding(method), grpcClient).start();
    }
}
