package dev.levee.server;

import dev.levee.batching.BatchScheduler;
import dev.levee.runtime.LoadedModel;
import dev.levee.server.grpc.GrpcInferenceService;
import dev.levee.server.rest.RestApi;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.grpc.server.GrpcServer;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One serving node: its models, a scheduler per model version, metrics, and the HTTP servers, all
 * built and wired here. The main port serves REST and gRPC; a second port serves gRPC alone when
 * {@link NodeOptions#grpcPort()} requests one. {@link #drain(Duration)} stops the node gently:
 * readiness goes false, queued and running work finishes, then the servers stop. {@link #close()}
 * stops it at once and fails queued requests with UNAVAILABLE.
 */
public final class LeveeNode implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LeveeNode.class);
    private static final long START_TIMEOUT_SECONDS = 30;
    /** Longest wait, after a drain's grace period, for queued and running requests to be answered. */
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(30);
    private static final int FREE_PORT_GROUP_MAIN = -1;
    private static final int FREE_PORT_GROUP_GRPC = -2;

    private final Vertx vertx;
    private final ModelRegistry registry;
    private final NodeMetrics metrics;
    private final NodeState state;
    private final List<HttpServer> servers;
    private final int port;
    /** The separate gRPC port, or -1 when there is none. */
    private final int grpcPort;

    private LeveeNode(Vertx vertx, ModelRegistry registry, NodeMetrics metrics, NodeState state,
            List<HttpServer> servers, int port, int grpcPort) {
        this.vertx = vertx;
        this.registry = registry;
        this.metrics = metrics;
        this.state = state;
        this.servers = servers;
        this.port = port;
        this.grpcPort = grpcPort;
    }

    /** Starts serving {@code models}; the node owns them from here on and closes them on {@link #close()}. */
    public static LeveeNode start(NodeOptions options, List<LoadedModel> models) throws IOException {
        NodeMetrics metrics = new NodeMetrics();
        ModelRegistry registry = new ModelRegistry();
        for (LoadedModel model : models) {
            BatchScheduler scheduler = new BatchScheduler(model, options.clock(), options.admission(), metrics);
            registry.add(scheduler);
            metrics.watchQueue(scheduler);
        }
        NodeState state = new NodeState();
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(options.eventLoops()));
        RestApi api = new RestApi(registry, metrics, state, options.clock(), options.maxBodyBytes(), indexPage());
        GrpcServer grpc = new GrpcInferenceService(registry, metrics, state, options.clock())
                .server(vertx, options.maxBodyBytes());
        HttpServerOptions serverOptions = new HttpServerOptions()
                .setHost(options.host())
                .setHttp2ClearTextEnabled(true)
                .setTcpNoDelay(true)
                .setMaxInitialLineLength(8192);
        List<HttpServer> servers = new ArrayList<>();
        try {
            int port = listen(vertx, serverOptions, new ContentTypeRouter(grpc, api), options.port(),
                    FREE_PORT_GROUP_MAIN, options.eventLoops(), servers);
            int grpcPort = NodeOptions.NO_GRPC_PORT;
            if (options.grpcPort() != NodeOptions.NO_GRPC_PORT) {
                grpcPort = listen(vertx, serverOptions, grpc, options.grpcPort(), FREE_PORT_GROUP_GRPC,
                        options.eventLoops(), servers);
            }
            LeveeNode node = new LeveeNode(vertx, registry, metrics, state, servers, port, grpcPort);
            log.info("Levee {} serving REST and gRPC at http://{}:{}{} with models {}", NodeState.VERSION,
                    options.host(), port, grpcPort < 0 ? "" : ", gRPC alone at port " + grpcPort, describe(models));
            return node;
        } catch (IOException | RuntimeException e) {
            registry.all().forEach(BatchScheduler::close);
            vertx.close();
            models.forEach(m -> m.model().close());
            throw e;
        }
    }

    /**
     * Starts one HTTP server per event loop on {@code port}, adds them to {@code servers}, and
     * returns the port they share. Servers that listen on the same port share it and Vert.x spreads
     * connections over their event loops. For a free port (0), Vert.x shares one random port between
     * servers that ask for the same negative port, so each port of the node uses its own negative
     * {@code freePortGroup}.
     */
    private static int listen(Vertx vertx, HttpServerOptions serverOptions, Handler<HttpServerRequest> handler,
            int port, int freePortGroup, int eventLoops, List<HttpServer> servers) throws IOException {
        int requested = port == 0 ? freePortGroup : port;
        List<HttpServer> started = new ArrayList<>();
        for (int i = 0; i < eventLoops; i++) {
            HttpServer server = await(vertx.createHttpServer(serverOptions).requestHandler(handler).listen(requested));
            started.add(server);
            servers.add(server);
        }
        int bound = started.getFirst().actualPort();
        for (HttpServer server : started) {
            if (server.actualPort() != bound) {
                throw new IOException("HTTP servers bound different ports: " + bound + " and " + server.actualPort());
            }
        }
        return bound;
    }

    private static String describe(List<LoadedModel> models) {
        return models.stream().map(m -> m.name() + " (version " + m.version() + ")").toList().toString();
    }

    private static <T> T await(Future<T> future) throws IOException {
        try {
            return future.toCompletionStage().toCompletableFuture().get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IOException("could not start the HTTP server: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("the HTTP server did not start within " + START_TIMEOUT_SECONDS + " s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting the HTTP server", e);
        }
    }

    private static byte[] indexPage() throws IOException {
        try (InputStream in = LeveeNode.class.getResourceAsStream("/web/index.html")) {
            return in == null ? "<!doctype html><title>Levee</title><p>Levee is running.".getBytes() : in.readAllBytes();
        }
    }

    /** Returns the port that serves REST and gRPC. */
    public int port() {
        return port;
    }

    /** Returns the separate gRPC port, if {@link NodeOptions#grpcPort()} requested one. */
    public OptionalInt grpcPort() {
        return grpcPort < 0 ? OptionalInt.empty() : OptionalInt.of(grpcPort);
    }

    public ModelRegistry registry() {
        return registry;
    }

    public NodeMetrics metrics() {
        return metrics;
    }

    public NodeState state() {
        return state;
    }

    /**
     * Drains the node, then closes it. Readiness goes false at once, but new requests are still
     * admitted for {@code grace}, so that load balancers which check readiness periodically see it
     * before the node turns work away. After the grace period new requests get 503, and the node
     * waits up to 30 s for the responses of queued and running requests before it closes.
     */
    public void drain(Duration grace) {
        state.markNotReady();
        log.info("Draining: not ready, still admitting requests for {} ms", grace.toMillis());
        try {
            Thread.sleep(grace);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            return;
        }
        state.drain();
        log.info("Draining: rejecting new requests, waiting for {} queued or running", registry.pendingRequests());
        // A server shutdown stops listening and closes each connection once its requests have their responses.
        List<Future<Void>> shutdowns = servers.stream()
                .map(server -> server.shutdown(DRAIN_TIMEOUT.toSeconds(), TimeUnit.SECONDS))
                .toList();
        try {
            Future.join(shutdowns).toCompletionStage().toCompletableFuture()
                    .get(DRAIN_TIMEOUT.toSeconds() + 5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("Draining: connections did not close within {} s; {} requests still queued or running",
                    DRAIN_TIMEOUT.toSeconds(), registry.pendingRequests(), e);
        }
        close();
    }

    @Override
    public void close() {
        state.drain();
        for (BatchScheduler scheduler : registry.all()) {
            scheduler.close();
            scheduler.model().model().close();
        }
        for (HttpServer server : servers) {
            server.close();
        }
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("Vert.x did not close cleanly", e);
        }
        log.info("Levee stopped");
    }
}
