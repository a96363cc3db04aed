package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the {@link NodeTable} in line with the {@link NodeSource}: resolves it at start, then
 * every discovery interval when it can change. A resolution that fails keeps the current nodes,
 * so a DNS or Kubernetes API outage does not empty the gateway.
 */
final class NodeDiscovery {
    private static final Logger log = LoggerFactory.getLogger(NodeDiscovery.class);

    private final Vertx vertx;
    private final NodeSource source;
    private final NodeTable table;
    private final Duration interval;
    private final Consumer<NodeTable.Change> onChange;
    private long timer = -1;
    /** Whether a periodic resolution is running. */
    private final AtomicBoolean resolving = new AtomicBoolean();
    /** The message of the last failed resolution, so that a failure repeating every round is logged once. */
    private volatile String lastError;

    NodeDiscovery(Vertx vertx, NodeSource source, NodeTable table, Duration interval,
            Consumer<NodeTable.Change> onChange) {
        this.vertx = requireNonNull(vertx, "vertx");
        this.source = requireNonNull(source, "source");
        this.table = requireNonNull(table, "table");
        this.interval = requireNonNull(interval, "interval");
        this.onChange = requireNonNull(onChange, "onChange");
    }

    /** Resolves the source on the calling thread, which may block, and applies the result. */
    void resolveNow() {
        try {
            apply(source.resolve());
        } catch (Exception e) {
            failed(e);
        }
    }

    void start() {
        if (!source.dynamic()) {
            return;
        }
        timer = vertx.setPeriodic(interval.toMillis(), id -> {
            // A resolution that outlasts the interval, such as a slow Kubernetes API call, is not
            // started a second time, so an older result cannot overwrite a newer one.
            if (!resolving.compareAndSet(false, true)) {
                return;
            }
            vertx.executeBlocking(source::resolve, false).onComplete(result -> {
                resolving.set(false);
                if (result.succeeded()) {
                    apply(result.result());
                } else {
                    failed(result.cause());
                }
            });
        });
    }

    void stop() {
        vertx.cancelTimer(timer);
    }

    private void apply(List<NodeAddress> addresses) {
        if (lastError != null) {
            log.info("Node discovery works again: {}", addresses);
            lastError = null;
        }
        NodeTable.Change change = table.update(addresses);
        if (!change.isEmpty()) {
            log.info("Nodes added: {}; removed: {}", change.added(), change.removed());
            onChange.accept(change);
        }
    }

    private void failed(Throwable error) {
        String message = error.getClass().getSimpleName() + ": " + error.getMessage();
        if (!Objects.equals(message, lastError)) {
            log.warn("Node discovery failed, keeping the {} current nodes: {}", table.nodes().size(), message);
        }
        lastError = message;
    }
}
