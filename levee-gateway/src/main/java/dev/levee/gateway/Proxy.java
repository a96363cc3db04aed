package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import io.vertx.core.http.HttpServerRequest;

/** The parts that every {@link ProxyCall} shares, wired once per gateway. */
final class Proxy {
    final NodeTable table;
    final RoutingPolicy policy;
    final RetryBudget budget;
    final NodeClient client;
    final HealthChecker health;
    final TrackedModels models;
    final GatewayMetrics metrics;
    final GatewayOptions options;

    Proxy(NodeTable table, RoutingPolicy policy, RetryBudget budget, NodeClient client, HealthChecker health,
            TrackedModels models, GatewayMetrics metrics, GatewayOptions options) {
        this.table = requireNonNull(table, "table");
        this.policy = requireNonNull(policy, "policy");
        this.budget = requireNonNull(budget, "budget");
        this.client = requireNonNull(client, "client");
        this.health = requireNonNull(health, "health");
        this.models = requireNonNull(models, "models");
        this.metrics = requireNonNull(metrics, "metrics");
        this.options = requireNonNull(options, "options");
    }

    /** Forwards a client request to a node chosen for {@code key}, or to any node for {@link ModelKey#NONE}. */
    void forward(HttpServerRequest request, ModelKey key) {
        new ProxyCall(this, request, key).start();
    }
}
