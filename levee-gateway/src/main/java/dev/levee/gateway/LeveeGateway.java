package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One gateway: node discovery, health checks, routing, the retry budget, metrics and the HTTP
 * servers, all built and wired here.
 */
public final class LeveeGateway implements AutoCloseable {
    private static final int IDLE_TIMEOUT_SECONDS = 60;
    private static final Logger log = LoggerFactory.getLogger(LeveeGateway.class);
    private static final long START_TIMEOUT_SECONDS = 30;
    /** Vert.x shares one free port between servers that ask for the same negative port. */
    private static final int FREE_PORT_GROUP = -1;

    private final Vertx vertx;
    private final List<NodeClient> clients;
    private final NodeDiscovery discovery;
    private final HealthChecker health;
    private final NodeTable table;
    private final GatewayMetrics metrics;
    private final List<HttpServer> servers;
    private final int port;
    private final AtomicBoolean draining;

    private LeveeGateway(Vertx vertx, List<NodeClient> clients, NodeDiscovery discovery, HealthChecker health,
            NodeTable table, GatewayMetrics metrics, List<HttpServer> servers, int port, AtomicBoolean draining) {
        this.vertx = vertx;
        this.clients = clients;
        this.discovery = discovery;
        this.health = health;
        this.table = table;
        this.metrics = metrics;
        this.servers = servers;
        this.port = port;
        this.draining = draining;
    }

    /**
     * Starts a gateway in front of the nodes of {@code source}. The source is resolved once before
     * this returns, and each node gets its first readiness check at once. A node serves as soon as
     * its check passes, so right after the start the gateway may report not ready for a moment.
     */
    public static LeveeGateway start(GatewayOptions options, NodeSource source) throws IOException {
        requireNonNull(options, "options");
        requireNonNull(source, "source");
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(options.eventLoops()));
        List<NodeClient> clients = new CopyOnWriteArrayList<>();
        AtomicBoolean draining = new AtomicBoolean();
        try {
            // Readiness checks have a client of their own; requests use the client of their event loop.
            long connectTimeoutMillis = options.connectTimeout().toMillis();
            NodeClient checkClient = new NodeClient(vertx, HttpVersion.HTTP_1_1, 2, connectTimeoutMillis);
            clients.add(checkClient);
            NodeTable table = new NodeTable();
            TrackedModels models = new TrackedModels();
            GatewayMetrics metrics = new GatewayMetrics(options.clock(), options.rampUp());
            RetryBudget budget = new RetryBudget(options.retryBudgetRatio(), options.retryBudgetFloorPerSecond(),
                    options.clock());
            metrics.watchRetryBudget(budget);
            RoutingPolicy policy = new RoutingPolicy(options.rampUp(), options.clock(), ThreadLocalRandom::current);
            HealthChecker health = new HealthChecker(vertx, table, models, checkClient, options);
            NodeDiscovery discovery = new NodeDiscovery(vertx, source, table, options.discoveryInterval(), change -> {
                change.removed().forEach(metrics::unwatch);
                for (Node node : change.added()) {
                    metrics.watch(node);
                    health.check(node);
                }
            });
            discovery.resolveNow();
            health.start();
            discovery.start();
            // Each event loop gets its own clients, created on it: a connection then carries only
            // requests of the event loop it belongs to, and no attempt crosses between threads.
            int connectionsPerLoop = Math.ceilDiv(options.connectionsPerNode(), options.eventLoops());
            Supplier<GatewayApi> perEventLoop = () -> {
                NodeClient restClient = new NodeClient(vertx, HttpVersion.HTTP_1_1, connectionsPerLoop,
                        connectTimeoutMillis);
                // HTTP/2 multiplexes calls, so one connection per node and event loop is enough.
                NodeClient grpcClient = new NodeClient(vertx, HttpVersion.HTTP_2, 1, connectTimeoutMillis);
                clients.add(restClient);
                clients.add(grpcClient);
                return new GatewayApi(new Proxy(table, policy, budget, restClient, grpcClient, health, models, metrics,
                        options, draining));
            };
            List<HttpServer> servers = new ArrayList<>();
            int port = listen(vertx, options, perEventLoop, servers);
            log.info("Levee gateway serving REST and gRPC at http://{}:{} in front of nodes {}", options.host(), port,
                    table.nodes());
            return new LeveeGateway(vertx, clients, discovery, health, table, metrics, servers, port, draining);
        } catch (IOException | RuntimeException e) {
            vertx.close();
            throw e;
        }
    }

    private static int listen(Vertx vertx, GatewayOptions options, Supplier<GatewayApi> api, List<HttpServer> servers)
            throws IOException {
        HttpServerOptions serverOptions = new HttpServerOptions()
                .setHost(options.host())
                .setHttp2ClearTextEnabled(true)
                .setTcpNoDelay(true)
                .setMaxInitialLineLength(8192)
                // Idle or stalled clients cannot hold connections and buffers forever.
                .setIdleTimeout(IDLE_TIMEOUT_SECONDS);
        int requested = options.port() == 0 ? FREE_PORT_GROUP : options.port();
        // One verticle instance per server puts each on its own event loop; servers created from
        // this thread would share its one context. listen(port) alone would bind every interface.
        List<HttpServer> started = new CopyOnWriteArrayList<>();
        await("at " + options.host() + ":" + options.port(), vertx.deployVerticle(() -> new VerticleBase() {
            @Override
            public Future<?> start() {
                return vertx.createHttpServer(serverOptions).requestHandler(api.get())
                        .listen(requested, serverOptions.getHost())
                        .onSuccess(started::add);
            }
        }, new DeploymentOptions().setInstances(options.eventLoops())));
        servers.addAll(started);
        int bound = servers.getFirst().actualPort();
        for (HttpServer server : servers) {
            if (server.actualPort() != bound) {
                throw new IOException("HTTP servers bound different ports: " + bound + " and " + server.actualPort());
            }
        }
        return bound;
    }

    /** Waits for {@code future}; {@code where} names the address in the error, such as "at 0.0.0.0:8000". */
    private static <T> T await(String where, Future<T> future) throws IOException {
        try {
            return future.toCompletionStage().toCompletableFuture().get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IOException("could not start the HTTP server " + where + ": " + e.getCause().getMessage(),
                    e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("the HTTP server " + where + " did not start within " + START_TIMEOUT_SECONDS + " s",
                    e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting the HTTP server", e);
        }
    }

    /** Returns the port of the gateway's REST and gRPC APIs. */
    public int port() {
        return port;
    }

    public GatewayMetrics metrics() {
        return metrics;
    }

    /**
     * Returns what {@code /v2/health/ready} reports: whether the gateway is not draining and some
     * node is ready and not ejected.
     */
    public boolean ready() {
        return !draining.get() && table.anyServing();
    }

    /**
     * Starts a drain: from now on the gateway reports not ready, over REST and gRPC, while it
     * still forwards every request, so that load balancers which check its readiness stop sending
     * before it closes.
     */
    public void beginDrain() {
        if (!draining.getAndSet(true)) {
            log.info("Draining: not ready, still forwarding requests");
        }
    }

    /**
     * Drains the gateway for {@code grace}, then closes it ({@link #close()}: requests in flight
     * get their responses first).
     */
    public void drain(Duration grace) {
        beginDrain();
        try {
            Thread.sleep(grace);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close();
    }

    NodeTable table() {
        return table;
    }

    /**
     * Stops the gateway: discovery and checks end, the servers stop listening and close their
     * connections once the requests in flight have their responses (at most 10 s), then Vert.x closes.
     */
    @Override
    public void close() {
        discovery.stop();
        health.stop();
        List<Future<Void>> shutdowns = servers.stream().map(server -> server.shutdown(10, TimeUnit.SECONDS)).toList();
        try {
            Future.join(shutdowns).toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("Gateway servers did not shut down cleanly", e);
        }
        clients.forEach(NodeClient::close);
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("Vert.x did not close cleanly", e);
        }
        log.info("Levee gateway stopped");
    }
}
