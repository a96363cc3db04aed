package dev.levee.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.levee.gateway.GatewayOptions;
import dev.levee.gateway.LeveeGateway;
import dev.levee.gateway.NodeAddress;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real node processes, separate JVMs running {@code levee serve} with a synthetic model, behind a
 * gateway in this JVM: a node killed with SIGKILL under load costs the clients nothing and is
 * restarted. Every process the test starts is stopped in {@link #stop()}.
 */
class LocalClusterTest {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);
    private static final long WAIT_SECONDS = 60;
    private static final int REQUESTS = 300;
    private static final int CONCURRENCY = 4;

    @TempDir
    Path folder;

    private final ByteArrayOutputStream console = new ByteArrayOutputStream();
    private final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    private LocalCluster cluster;
    private LeveeGateway gateway;

    @AfterEach
    void stop() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private Path syntheticRepository() throws IOException {
        Path model = Files.createDirectories(folder.resolve("models/synthetic/1"));
        Files.writeString(model.getParent().resolve("config.json"), """
                {"platform": "synthetic", "max_batch_size": 8, "max_queue_delay_ms": 1,
                 "parameters": {"service_time_ms": "2"}}
                """);
        return model.getParent().getParent();
    }

    private void startCluster(int nodes) throws Exception {
        cluster = LocalCluster.start(nodes, Optional.of(syntheticRepository()), folder.resolve("logs"),
                Duration.ofSeconds(20), new PrintStream(console, true, StandardCharsets.UTF_8));
        cluster.awaitReady(READY_TIMEOUT);
        List<NodeAddress> addresses = cluster.addresses();
        gateway = LeveeGateway.start(GatewayOptions.builder()
                .host("127.0.0.1")
                .port(0)
                .eventLoops(1)
                .checkInterval(Duration.ofMillis(100))
                .rampUp(Duration.ofMillis(500))
                .build(), () -> addresses);
        awaitTrue(() -> servingNodes() == nodes, "the gateway routes to every node");
    }

    private long servingNodes() {
        return gateway.metrics().scrape().lines()
                .filter(line -> line.startsWith("levee_gateway_node_serving{") && line.endsWith(" 1.0"))
                .count();
    }

    private CompletableFuture<HttpResponse<String>> infer(float value) {
        String body = "{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP32\",\"shape\":[1,1],\"data\":[" + value
                + "]}]}";
        HttpRequest request = HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + gateway.port() + "/v2/models/synthetic/infer"))
                .timeout(Duration.ofSeconds(WAIT_SECONDS))
                .header("Content-Type", "application/json")
                .header("Levee-Timeout-Ms", "10000")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        return client.sendAsync(request, HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void killedNodeCostsNothingAndRestarts() throws Exception {
        startCluster(2);
        NodeProcess victim = cluster.nodes().getFirst();
        long victimPid = victim.pid();
        List<Integer> statuses = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        List<CompletableFuture<HttpResponse<String>>> window = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            if (i == REQUESTS / 3) {
                victim.kill();
            }
            window.add(infer(i));
            if (window.size() == CONCURRENCY || i == REQUESTS - 1) {
                for (CompletableFuture<HttpResponse<String>> pending : window) {
                    HttpResponse<String> response = pending.get(WAIT_SECONDS, TimeUnit.SECONDS);
                    statuses.add(response.statusCode());
                    if (response.statusCode() != 200) {
                        errors.add(response.statusCode() + " " + response.body());
                    }
                }
                window.clear();
            }
        }
        assertThat(statuses).hasSize(REQUESTS);
        assertThat(errors).as("responses other than 200").isEmpty();

        awaitTrue(() -> victim.pid() != victimPid, "the killed node is started again");
        assertThat(victim.restarts()).isEqualTo(1);
        awaitTrue(() -> cluster.ready(victim), "the restarted node is ready");
        awaitTrue(() -> servingNodes() == 2, "the gateway routes to the restarted node again");
        assertThat(console.toString(StandardCharsets.UTF_8)).contains("node 1 exited with code 137");
    }

    @Test
    void stopDrainsNodesWithSigterm() throws Exception {
        startCluster(1);
        Process node = cluster.nodes().getFirst().process().orElseThrow();
        assertThat(infer(1).get(WAIT_SECONDS, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        gateway.close();
        gateway = null;
        long start = System.nanoTime();
        cluster.close();
        cluster = null;
        assertThat(node.isAlive()).isFalse();
        // A JVM that ends on SIGTERM after its shutdown hooks exits with 128 + 15; SIGKILL would give 137.
        assertThat(node.exitValue()).isEqualTo(143);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + " did not happen within " + WAIT_SECONDS + " s");
            }
            Thread.sleep(20);
        }
    }
}
