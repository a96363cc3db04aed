package dev.levee.server;

import dev.levee.batching.BatchScheduler;
import dev.levee.batching.RejectionReason;
import dev.levee.batching.SchedulerListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The node's Prometheus metrics: requests by model and outcome, request latency, queue depth,
 * queue delay, batch size and model instance busy time.
 */
public final class NodeMetrics implements SchedulerListener {
    /** Model label of requests for a model or version the node does not serve. */
    static final String UNKNOWN_MODEL = "(unknown)";

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    /**
     * Gauges by the scheduler they read. Micrometer keys a gauge by name and tags, so two watched
     * schedulers of one model version would share one gauge, and the old one must be unwatched first.
     */
    private final Map<BatchScheduler, List<Meter>> queueGauges = new ConcurrentHashMap<>();

    /** Counts one finished request and its latency from arrival to response. */
    public void request(String model, String outcome, long latencyNanos) {
        if (outcome.equals("not_found")) {
            // Names of models the node does not serve come from clients; as labels they would let
            // any client create metric series without bound.
            model = UNKNOWN_MODEL;
        }
        Counter.builder("levee.requests")
                .description("Inference requests by model and outcome")
                .tag("model", model)
                .tag("outcome", outcome)
                .register(registry)
                .increment();
        Timer.builder("levee.request.duration")
                .description("Time from a request's arrival to its response")
                .tag("model", model)
                .tag("outcome", outcome)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(30))
                .register(registry)
                .record(latencyNanos, TimeUnit.NANOSECONDS);
    }

    /** Publishes the queue depth and running requests of a scheduler until {@link #unwatchQueue}. */
    public void watchQueue(BatchScheduler scheduler) {
        Gauge depth = Gauge.builder("levee.queue.depth", scheduler, BatchScheduler::queueDepth)
                .description("Requests waiting in a model's queue")
                .tag("model", scheduler.model().name())
                .tag("version", scheduler.model().version())
                .register(registry);
        Gauge inFlight = Gauge.builder("levee.inflight", scheduler, BatchScheduler::inFlight)
                .description("Requests whose batch is running on a model instance")
                .tag("model", scheduler.model().name())
                .tag("version", scheduler.model().version())
                .register(registry);
        queueGauges.put(scheduler, List.of(depth, inFlight));
    }

    /**
     * Stops publishing the gauges of a scheduler, so that a later scheduler of the same model version
     * can publish its own. Does nothing for a scheduler that is not watched.
     */
    public void unwatchQueue(BatchScheduler scheduler) {
        List<Meter> gauges = queueGauges.remove(scheduler);
        if (gauges != null) {
            gauges.forEach(registry::remove);
        }
    }

    @Override
    public void rejected(String model, RejectionReason reason) {
        Counter.builder("levee.rejections")
                .description("Requests turned away by admission, by reason")
                .tag("model", model)
                .tag("reason", reason.label())
                .register(registry)
                .increment();
    }

    @Override
    public void expired(String model) {
        Counter.builder("levee.expirations")
                .description("Requests whose deadline passed before their result was ready")
                .tag("model", model)
                .register(registry)
                .increment();
    }

    @Override
    public void cancelled(String model) {
        Counter.builder("levee.cancellations")
                .description("Queued requests dropped because their client went away")
                .tag("model", model)
                .register(registry)
                .increment();
    }

    @Override
    public void batchCompleted(String model, int requests, int rows, long serviceNanos) {
        DistributionSummary.builder("levee.batch.size")
                .description("Rows per batch run by a model instance")
                .tag("model", model)
                .serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64, 128)
                .register(registry)
                .record(rows);
        Counter.builder("levee.instance.busy")
                .description("Seconds model instances spent running batches")
                .baseUnit("seconds")
                .tag("model", model)
                .register(registry)
                .increment(serviceNanos / 1e9);
    }

    @Override
    public void queueDelay(String model, long queueNanos) {
        Timer.builder("levee.queue.delay")
                .description("Time a request waited in the queue before its batch started")
                .tag("model", model)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(30))
                .register(registry)
                .record(queueNanos, TimeUnit.NANOSECONDS);
    }

    /** The metrics in Prometheus text exposition format. */
    public String scrape() {
        return registry.scrape();
    }
}
