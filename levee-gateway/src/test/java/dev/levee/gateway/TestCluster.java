package dev.levee.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.levee.batching.AdmissionPolicy;
import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelConfig;
import dev.levee.runtime.SyntheticModel;
import dev.levee.server.LeveeNode;
import dev.levee.server.NodeOptions;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Real in-process nodes with the synthetic model on free loopback ports, a real gateway in front of
 * them, and a JDK HTTP client. Everything it starts, {@link #close()} stops; every wait is bounded.
 */
final class TestCluster implements AutoCloseable {
    static final String INFER = "/v2/models/synthetic/infer";
    static final float FAIL_MARKER = -7f;
    static final long WAIT_SECONDS = 30;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One node, its model and, when the test controls its batches, its gate. */
    record TestNode(LeveeNode node, SyntheticModel model, Gate gate, String host) {
        NodeAddress address() {
            return new NodeAddress(host, node.port());
        }

        URI uri(String path) {
            return URI.create("http://" + address() + path);
        }
    }

    private final List<TestNode> nodes = new ArrayList<>();
    private final List<AutoCloseable> stopLast = new ArrayList<>();
    private final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(WAIT_SECONDS))
            .build();
    private LeveeGateway gateway;

    static ModelConfig config(int maxQueueSize) {
        return config("synthetic", maxQueueSize);
    }

    static ModelConfig config(String model, int maxQueueSize) {
        return ModelConfig.defaults(model, "synthetic")
                .withMaxBatchSize(1)
                .withMaxQueueSize(maxQueueSize)
                .withMaxQueueDelay(Duration.ofMillis(1))
                .withTargetQueueDelay(Duration.ofSeconds(10));
    }

    /** Starts a node on {@code host} whose model sleeps {@code serviceMillis} per batch. */
    TestNode startNode(String host, int port, long serviceMillis) throws IOException {
        return startNode(host, port, SyntheticModel.ServiceTime.sleeping(serviceMillis), null, config(256));
    }

    TestNode startNode(long serviceMillis) throws IOException {
        return startNode("127.0.0.1", 0, serviceMillis);
    }

    /** Starts a node that serves only a synthetic model named {@code model}. */
    TestNode startNodeWithModel(String model) throws IOException {
        return startNode("127.0.0.1", 0, SyntheticModel.ServiceTime.sleeping(0), null, config(model, 256));
    }

    /** Starts a node whose batches wait for the test to open its gate. */
    TestNode startGatedNode(int maxQueueSize) throws IOException {
        Gate gate = new Gate();
        return startNode("127.0.0.1", 0, gate, gate, config(maxQueueSize));
    }

    private TestNode startNode(String host, int port, SyntheticModel.ServiceTime serviceTime, Gate gate,
            ModelConfig config) throws IOException {
        SyntheticModel model = new SyntheticModel(config.name(), "1", serviceTime, FAIL_MARKER);
        // Admission by queue size alone: a gated model has no service time measured, so this is what applies anyway.
        NodeOptions options = NodeOptions.defaults().withHost(host).withPort(port)
                .withAdmission(AdmissionPolicy.boundedQueue());
        LeveeNode node = LeveeNode.start(options, List.of(new LoadedModel(config, "1", model)));
        TestNode started = new TestNode(node, model, gate, host);
        nodes.add(started);
        return started;
    }

    /** Returns options for tests: fast checks, no ramp-up unless a test sets one, a free loopback port. */
    static GatewayOptions.Builder options() {
        return GatewayOptions.builder()
                .host("127.0.0.1")
                .port(0)
                .eventLoops(2)
                .checkInterval(Duration.ofMillis(50))
                .checkTimeout(Duration.ofMillis(500))
                .modelCheckInterval(Duration.ofMillis(200))
                .discoveryInterval(Duration.ofMillis(50))
                .rampUp(Duration.ZERO);
    }

    LeveeGateway startGateway(GatewayOptions options, NodeSource source) throws IOException {
        gateway = LeveeGateway.start(options, source);
        return gateway;
    }

    /** Starts a gateway in front of every node started so far, and waits until it routes to all of them. */
    LeveeGateway startGateway(GatewayOptions options) throws IOException, InterruptedException {
        List<NodeAddress> addresses = nodes.stream().map(TestNode::address).toList();
        startGateway(options, () -> addresses);
        awaitServing(nodes.size());
        return gateway;
    }

    List<TestNode> nodes() {
        return nodes;
    }

    LeveeGateway gateway() {
        return gateway;
    }

    int gatewayPort() {
        return gateway.port();
    }

    void awaitServing(int count) throws InterruptedException {
        awaitTrue(() -> gateway.table().nodes().stream().filter(Node::serving).count() == count,
                count + " nodes serving behind the gateway");
    }

    Node gatewayNode(TestNode node) {
        return gateway.table().nodes().stream()
                .filter(n -> n.address().equals(node.address()))
                .findFirst()
                .orElseThrow(() -> new AssertionError("the gateway does not know node " + node.address()));
    }

    /** Stops a node now: its port refuses connections afterwards. */
    void kill(TestNode node) {
        node.node().close();
    }

    /** Closes {@code resource} after the gateway and the nodes. */
    void stopLast(AutoCloseable resource) {
        stopLast.add(resource);
    }

    static String body(float value) {
        return "{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[" + value + ","
                + value + "]}]}";
    }

    HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.port() + path))
                .timeout(Duration.ofSeconds(WAIT_SECONDS));
    }

    HttpRequest infer(float value, long timeoutMillis) {
        return request(INFER)
                .header("Content-Type", "application/json")
                .header("Levee-Timeout-Ms", Long.toString(timeoutMillis))
                .POST(HttpRequest.BodyPublishers.ofString(body(value)))
                .build();
    }

    HttpResponse<String> send(HttpRequest request) {
        try {
            return client.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new AssertionError("request to " + request.uri() + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    CompletableFuture<HttpResponse<String>> sendAsync(HttpRequest request) {
        return client.sendAsync(request, HttpResponse.BodyHandlers.ofString());
    }

    /** Sends a request straight to a node, bypassing the gateway. */
    CompletableFuture<HttpResponse<String>> sendToNode(TestNode node, float value) {
        return sendAsync(HttpRequest.newBuilder(node.uri(INFER))
                .timeout(Duration.ofSeconds(WAIT_SECONDS))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body(value)))
                .build());
    }

    static float echoed(HttpResponse<String> response) {
        try {
            JsonNode json = JSON.readTree(response.body());
            return json.at("/outputs/0/data/0").floatValue();
        } catch (IOException e) {
            throw new AssertionError("body is not JSON: " + response.body(), e);
        }
    }

    static HttpResponse<String> await(CompletableFuture<HttpResponse<String>> response) throws Exception {
        return response.get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    /** Returns the value of one series of the gateway's metrics, 0 when it is absent. */
    double gatewayMetric(String series) {
        return metric(gateway.metrics().scrape(), series);
    }

    static double nodeMetric(TestNode node, String series) {
        return metric(node.node().metrics().scrape(), series);
    }

    private static double metric(String scrape, String series) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        return 0;
    }

    /** Sums every series of the gateway's metrics whose name and labels start with {@code prefix}. */
    double gatewayMetricSum(String prefix) {
        double sum = 0;
        for (String line : gateway.metrics().scrape().split("\n")) {
            if (line.startsWith(prefix)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + " did not happen within " + WAIT_SECONDS + " s");
            }
            Thread.sleep(5);
        }
    }

    static void assertOk(HttpResponse<String> response) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    }

    @Override
    public void close() throws Exception {
        for (TestNode node : nodes) {
            if (node.gate() != null) {
                node.gate().openForever();
            }
        }
        if (gateway != null) {
            gateway.close();
        }
        for (TestNode node : nodes) {
            node.node().close();
        }
        for (AutoCloseable resource : stopLast) {
            resource.close();
        }
    }
}
