package dev.levee.gateway;

import dev.levee.core.Clock;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The gateway's Prometheus metrics: requests by outcome and their latency, attempts per node by
 * result, retries by reason, retries the budget denied, the budget's use, and per node its load,
 * in-flight attempts, weight, readiness and ejections.
 */
public final class GatewayMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Map<Node, List<Meter>> nodeMeters = new ConcurrentHashMap<>();
    private final Clock clock;
    private final Duration rampUp;

    GatewayMetrics(Clock clock, Duration rampUp) {
        this.clock = clock;
        this.rampUp = rampUp;
    }

    /** Counts one client request by the outcome its status stands for, with its latency. */
    void request(String outcome, long latencyNanos) {
        Counter.builder("levee.gateway.requests")
                .description("Client requests by outcome")
                .tag("outcome", outcome)
                .register(registry)
                .increment();
        Timer.builder("levee.gateway.request.duration")
                .description("Time from a client request's arrival at the gateway to its response")
                .tag("outcome", outcome)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(30))
                .register(registry)
                .record(latencyNanos, TimeUnit.NANOSECONDS);
    }

    /** Returns the outcome label of a response status. */
    static String outcome(int status) {
        if (status < 400) {
            return "success";
        }
        return switch (status) {
            case 404 -> "not_found";
            case 413 -> "payload_too_large";
            case 429 -> "rate_limited";
            case 500 -> "internal";
            case 503 -> "unavailable";
            case 504 -> "deadline_exceeded";
            default -> status < 500 ? "client_error" : "server_error";
        };
    }

    /** Counts one attempt at {@code node}: a status code, or a failure label such as {@code connect}. */
    void attempt(Node node, String result) {
        Counter.builder("levee.gateway.attempts")
                .description("Attempts sent to each node, by status or failure")
                .tag("node", node.address().toString())
                .tag("result", result)
                .register(registry)
                .increment();
    }

    void retry(String reason) {
        Counter.builder("levee.gateway.retries")
                .description("Attempts retried on another node, by what ended the previous attempt")
                .tag("reason", reason)
                .register(registry)
                .increment();
    }

    void retryDenied() {
        Counter.builder("levee.gateway.retries.denied")
                .description("Retries not made because the retry budget was spent")
                .register(registry)
                .increment();
    }

    void watchRetryBudget(RetryBudget budget) {
        Gauge.builder("levee.gateway.retry.budget.used", budget, RetryBudget::used)
                .description("Share of the retries the budget allows now that were used in its window")
                .register(registry);
    }

    /** Publishes a node's gauges until {@link #unwatch} removes them. */
    void watch(Node node) {
        String name = node.address().toString();
        List<Meter> meters = new ArrayList<>();
        meters.add(Gauge.builder("levee.gateway.node.load", node, Node::estimatedLoad)
                .description("A node's load as the gateway estimates it: its latest report plus attempts sent since, "
                        + "or the attempts in flight when more")
                .tag("node", name)
                .register(registry));
        meters.add(Gauge.builder("levee.gateway.node.inflight", node, Node::inFlight)
                .description("The gateway's attempts in flight to a node")
                .tag("node", name)
                .register(registry));
        meters.add(Gauge.builder("levee.gateway.node.weight", node, n -> n.weight(clock.nanoTime(), rampUp))
                .description("A node's routing weight, below 1 while it ramps up after becoming ready")
                .tag("node", name)
                .register(registry));
        meters.add(Gauge.builder("levee.gateway.node.serving", node, n -> n.serving() ? 1 : 0)
                .description("1 when a node is ready and not ejected, else 0")
                .tag("node", name)
                .register(registry));
        meters.add(FunctionCounter.builder("levee.gateway.node.ejections", node, Node::ejections)
                .description("Times a node was ejected after consecutive failures")
                .tag("node", name)
                .register(registry));
        nodeMeters.put(node, meters);
    }

    void unwatch(Node node) {
        List<Meter> meters = nodeMeters.remove(node);
        if (meters != null) {
            meters.forEach(registry::remove);
        }
    }

    /** Returns the metrics in Prometheus text exposition format. */
    public String scrape() {
        return registry.scrape();
    }
}
