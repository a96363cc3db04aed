package dev.levee.server;

import dev.levee.batching.BatchScheduler;
import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelRepository;
import dev.levee.server.grpc.GrpcInferenceService;
import dev.levee.server.rest.RestApi;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One serving node: its models, a scheduler per model version, model control, metrics, and the
 * HTTP servers, all built and wired here. The main port serves REST and gRPC; a second port serves
 * gRPC alone when {@link NodeOptions#grpcPort()} requests one. {@link #drain(Duration)} stops the
 * node gently: readiness goes false, queued and running work finishes, then the servers stop.
 * {@link #close()} turns readiness off, lets a running model load or unload finish, stops the
 * schedulers after their running batches (failing queued requests with UNAVAILABLE), then stops
 * the servers.
 */
public final class LeveeNode implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LeveeNode.class);
    private static final long START_TIMEOUT_SECONDS = 30;
    private static final int IDLE_TIMEOUT_SECONDS = 60;
    /** Longest wait, after a drain's grace period, for queued and running requests to be answered. */
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(30);
    private static final int FREE_PORT_GROUP_MAIN = -1;
    private static final int FREE_PORT_GROUP_GRPC = -2;

    private final Vertx vertx;
    private final ModelRegistry registry;
    private final ModelControl control;
    private final NodeMetrics metrics;
    private final NodeState state;
    private final List<HttpServer> servers;
    private final int port;
    /** The separate gRPC port, or -1 when there is none. */
    private final int grpcPort;

    private LeveeNode(Vertx vertx, ModelRegistry registry, ModelControl control, NodeMetrics metrics,
            NodeState state, List<HttpServer> servers, int port, int grpcPort) {
        this.vertx = vertx;
        this.registry = registry;
        this.control = control;
        this.metrics = metrics;
        this.state = state;
        this.servers = servers;
        this.port = port;
        this.grpcPort = grpcPort;
    }

    /**
     * Starts serving {@code models}; the node owns them from here on and closes them on
     * {@link #close()}. Model control is off: the repository index lists these models, and load
     * and unload requests are rejected.
     */
    public static LeveeNode start(NodeOptions options, List<LoadedModel> models) throws IOException {
        NodeMetrics metrics = new NodeMetrics();
        ModelRegistry registry = new ModelRegistry();
        ModelControl control = ModelControl.forFixedModels(registry, options, metrics);
        try {
            for (LoadedModel model : models) {
                BatchScheduler scheduler = new BatchScheduler(model, options.clock(), options.admission(), metrics);
                registry.add(scheduler);
                metrics.watchQueue(scheduler);
            }
        } catch (RuntimeException e) {
            closeModels(registry);
            models.forEach(m -> m.model().close());
            throw e;
        }
        return serve(options, registry, control, metrics);
    }

    /**
     * Starts serving models of {@code repository}. With {@link ModelControlMode#NONE} every model
     * of the repository is loaded and {@code startupModels} must be empty. With
     * {@link ModelControlMode#EXPLICIT} the models named in {@code startupModels} are loaded, or
     * every model when it is empty, and clients may load and unload models. A model that fails to
     * load here stops the start.
     */
    public static LeveeNode start(NodeOptions options, ModelRepository repository, ModelControlMode mode,
            List<String> startupModels) throws IOException {
        return start(options, repository, mode, startupModels, repository::loadVersion);
    }

    /** Like {@link #start(NodeOptions, ModelRepository, ModelControlMode, List)}, loading versions with {@code loader}. */
    static LeveeNode start(NodeOptions options, ModelRepository repository, ModelControlMode mode,
            List<String> startupModels, ModelControl.VersionLoader loader) throws IOException {
        if (mode == ModelControlMode.NONE && !startupModels.isEmpty()) {
            throw new IllegalArgumentException("startupModels: " + startupModels
                    + " (expected: none unless model control is explicit, since all models load)");
        }
        NodeMetrics metrics = new NodeMetrics();
        ModelRegistry registry = new ModelRegistry();
        ModelControl control = ModelControl.forRepository(registry, repository, mode, loader, options, metrics);
        try {
            control.loadAtStart(startupModels.isEmpty() ? repository.modelNames() : startupModels);
        } catch (IOException | RuntimeException e) {
            control.close();
            closeModels(registry);
            throw e;
        }
        return serve(options, registry, control, metrics);
    }

    private static LeveeNode serve(NodeOptions options, ModelRegistry registry, ModelControl control,
            NodeMetrics metrics) throws IOException {
        NodeState state = new NodeState();
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(options.eventLoops()));
        RestApi api = new RestApi(registry, control, metrics, state, options.clock(), options.maxBodyBytes(),
                indexPage());
        GrpcServer grpc = new GrpcInferenceService(registry, control, metrics, state, options.clock())
                .server(vertx, options.maxBodyBytes());
        HttpServerOptions serverOptions = new HttpServerOptions()
                .setHost(options.host())
                .setHttp2ClearTextEnabled(true)
                .setTcpNoDelay(true)
                .setMaxInitialLineLength(8192)
                // Connections idle this long are closed, so idle or stalled clients cannot hold
                // sockets and buffers forever; clients reconnect as usual.
                .setIdleTimeout(IDLE_TIMEOUT_SECONDS);
        List<HttpServer> servers = new ArrayList<>();
        try {
            int port = listen(vertx, serverOptions, new ContentTypeRouter(grpc, api), options.port(),
                    FREE_PORT_GROUP_MAIN, options.eventLoops(), servers);
            int grpcPort = NodeOptions.NO_GRPC_PORT;
            if (options.grpcPort() != NodeOptions.NO_GRPC_PORT) {
                grpcPort = listen(vertx, serverOptions, grpc, options.grpcPort(), FREE_PORT_GROUP_GRPC,
                        options.eventLoops(), servers);
            }
            LeveeNode node = new LeveeNode(vertx, registry, control, metrics, state, servers, port, grpcPort);
            log.info("Levee {} serving REST and gRPC at http://{}:{}{} with models {}, model control {}",
                    NodeState.VERSION, options.host(), port, grpcPort < 0 ? "" : ", gRPC alone at port " + grpcPort,
                    describe(registry), control.mode().name().toLowerCase(Locale.ROOT));
            return node;
        } catch (IOException | RuntimeException e) {
            control.close();
            closeModels(registry);
            vertx.close();
            throw e;
        }
    }

    /** Stops every scheduler and closes its model. */
    private static void closeModels(ModelRegistry registry) {
        for (BatchScheduler scheduler : registry.all()) {
            scheduler.close();
            scheduler.model().model().close();
        }
    }

    /**
     * Starts one HTTP server per event loop on {@code port}, adds them to {@code servers}, and
     * returns the port they share. Each server is started by its own verticle instance, so each runs
     * on its own event loop: servers created from this thread would all share its one context.
     * Servers that listen on the same port share it and Vert.x spreads connections over them. For a
     * free port (0), Vert.x shares one random port between servers that ask for the same negative
     * port, so each port of the node uses its own negative {@code freePortGroup}.
     */
    private static int listen(Vertx vertx, HttpServerOptions serverOptions, Handler<HttpServerRequest> handler,
            int port, int freePortGroup, int eventLoops, List<HttpServer> servers) throws IOException {
        int requested = port == 0 ? freePortGroup : port;
        List<HttpServer> started = new CopyOnWriteArrayList<>();
        await("at " + serverOptions.getHost() + ":" + port, vertx.deployVerticle(() -> new VerticleBase() {
            @Override
            public Future<?> start() {
                // listen(port) alone would bind every interface whatever host the options set.
                return vertx.createHttpServer(serverOptions).requestHandler(handler)
                        .listen(requested, serverOptions.getHost())
                        .onSuccess(started::add);
            }
        }, new DeploymentOptions().setInstances(eventLoops)));
        servers.addAll(started);
        int bound = started.getFirst().actualPort();
        for (HttpServer server : started) {
            if (server.actualPort() != bound) {
                throw new IOException("HTTP servers bound different ports: " + bound + " and " + server.actualPort());
            }
        }
        return bound;
    }

    private static String describe(ModelRegistry registry) {
        return registry.index().stream()
                .filter(row -> row.state() == ModelState.READY)
                .map(row -> row.name() + " (version " + row.version() + ")")
                .toList()
                .toString();
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

    public ModelControl control() {
        return control;
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
        control.close();
        closeModels(registry);
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
