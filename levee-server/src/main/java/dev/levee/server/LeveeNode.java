package dev.levee.server;

import dev.levee.batching.BatchScheduler;
import dev.levee.runtime.LoadedModel;
import dev.levee.server.rest.RestApi;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One serving node: its models, a scheduler per model version, metrics, and the HTTP servers, all
 * built and wired here. {@link #close()} drains: readiness goes false, queued and running work
 * finishes, then the servers stop.
 */
public final class LeveeNode implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LeveeNode.class);
    private static final long START_TIMEOUT_SECONDS = 30;

    private final Vertx vertx;
    private final ModelRegistry registry;
    private final NodeMetrics metrics;
    private final NodeState state;
    private final List<HttpServer> servers;
    private final int port;

    private LeveeNode(Vertx vertx, ModelRegistry registry, NodeMetrics metrics, NodeState state,
            List<HttpServer> servers, int port) {
        this.vertx = vertx;
        this.registry = registry;
        this.metrics = metrics;
        this.state = state;
        this.servers = servers;
        this.port = port;
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
        HttpServerOptions serverOptions = new HttpServerOptions()
                .setHost(options.host())
                .setHttp2ClearTextEnabled(true)
                .setTcpNoDelay(true)
                .setMaxInitialLineLength(8192);
        List<HttpServer> servers = new ArrayList<>();
        try {
            // Servers that listen on the same port share it and Vert.x spreads connections over
            // their event loops. For a free port, Vert.x shares one random port between servers that
            // ask for the same negative port.
            int requested = options.port() == 0 ? -1 : options.port();
            for (int i = 0; i < options.eventLoops(); i++) {
                servers.add(await(vertx.createHttpServer(serverOptions).requestHandler(api).listen(requested)));
            }
            int port = servers.getFirst().actualPort();
            for (HttpServer server : servers) {
                if (server.actualPort() != port) {
                    throw new IOException("HTTP servers bound different ports: " + port + " and " + server.actualPort());
                }
            }
            LeveeNode node = new LeveeNode(vertx, registry, metrics, state, servers, port);
            log.info("Levee {} serving at http://{}:{} with models {}", NodeState.VERSION, options.host(), port,
                    describe(models));
            return node;
        } catch (IOException | RuntimeException e) {
            registry.all().forEach(BatchScheduler::close);
            vertx.close();
            models.forEach(m -> m.model().close());
            throw e;
        }
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

    public int port() {
        return port;
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
