package dev.levee.server;

import static dev.levee.server.Requests.SYNTHETIC_INFER;
import static dev.levee.server.Requests.synthetic;
import static org.assertj.core.api.Assertions.assertThat;

import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelConfig;
import dev.levee.runtime.SyntheticModel;
import dev.levee.server.TestNode.Reply;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A node under more load than it can serve, with the synthetic model's controlled service time. */
class OverloadTest {
    private static final long WAIT_SECONDS = 30;

    private TestNode node;
    private SyntheticModel model;

    private void start(SyntheticModel.ServiceTime serviceTime, ModelConfig config) throws Exception {
        model = new SyntheticModel("synthetic", "1", serviceTime, null);
        node = TestNode.start(List.of(new LoadedModel(config, "1", model)));
    }

    private static ModelConfig config(int maxBatchSize, int instances, Duration target) {
        return ModelConfig.defaults("synthetic", "synthetic")
                .withMaxBatchSize(maxBatchSize)
                .withInstanceCount(instances)
                .withMaxQueueSize(10_000)
                .withMaxQueueDelay(Duration.ofMillis(1))
                .withTargetQueueDelay(target);
    }

    @AfterEach
    void stop() {
        if (node != null) {
            node.close();
        }
    }

    private record Timed(Reply reply, long millis, float sent) {}

    private CompletableFuture<Timed> timedPost(HttpClient client, float value, String timeoutMillis) {
        HttpRequest.Builder request = HttpRequest.newBuilder(node.uri(SYNTHETIC_INFER))
                .timeout(Duration.ofSeconds(WAIT_SECONDS))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(synthetic(value)));
        if (timeoutMillis != null) {
            request.header("Levee-Timeout-Ms", timeoutMillis);
        }
        long start = System.nanoTime();
        return client.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString())
                .thenApply(r -> new Timed(new Reply(r), (System.nanoTime() - start) / 1_000_000, value));
    }

    @Test
    void burstAtTenTimesCapacityIsServedOrRejectedAtOnce() throws Exception {
        // 4 rows per 20 ms batch: a capacity of 200 requests per second. The burst sends 400
        // requests at once, two seconds of work, against a 60 ms queue delay target.
        long serviceMillis = 20;
        long targetMillis = 60;
        start(SyntheticModel.ServiceTime.sleeping(serviceMillis), config(4, 1, Duration.ofMillis(targetMillis)));
        warmUp();
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        List<CompletableFuture<Timed>> burst = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            burst.add(timedPost(client, 1000 + i, "2000"));
        }
        List<Long> okMillis = new ArrayList<>();
        List<Long> rejectedMillis = new ArrayList<>();
        for (CompletableFuture<Timed> future : burst) {
            Timed timed = future.get(WAIT_SECONDS, TimeUnit.SECONDS);
            int status = timed.reply().status();
            assertThat(status).as(timed.reply().body()).isIn(200, 503);
            if (status == 200) {
                assertThat(timed.reply().json().at("/outputs/0/data/0").floatValue())
                        .as("a response carries its own request's data").isEqualTo(timed.sent());
                okMillis.add(timed.millis());
            } else {
                assertThat(timed.reply().header("Retry-After")).matches("[1-9][0-9]*");
                rejectedMillis.add(timed.millis());
            }
        }
        assertThat(okMillis).as("requests served").hasSizeGreaterThanOrEqualTo(12);
        assertThat(rejectedMillis).as("requests rejected").hasSizeGreaterThan(200);
        assertThat(model.executedRequests()).as("only answered requests ran").isEqualTo(okMillis.size() + 8);
        assertThat(model.startedPastDeadline()).isZero();
        // Measured by the node, a served request waited in the queue at most the target plus the
        // batch running when it arrived; its own batch then adds one service time. The 150 ms of
        // slack absorbs thread wake-ups on a loaded 2-core machine (seen: 183 ms of queue delay at a
        // load average of 8), not the queue: without admission the last of these requests would
        // wait two seconds. Client-side times also hold the setup of 400
        // connections at once, so they are not used for this bound.
        double longestQueueDelayMillis = metric("levee_queue_delay_seconds_max{model=\"synthetic\"}") * 1000;
        assertThat(longestQueueDelayMillis).isLessThan(targetMillis + serviceMillis + 150);
        // The node's own histogram of rejection times: at least 95% answered within about 10 ms.
        double withinTenMillis = fractionWithin("overloaded", 0.0112);
        assertThat(withinTenMillis).as("fraction of rejections answered within 10 ms").isGreaterThanOrEqualTo(0.95);
    }

    /** Runs a few requests so the service time estimate exists before a burst. */
    private void warmUp() {
        for (int i = 0; i < 8; i++) {
            assertThat(node.post(SYNTHETIC_INFER, synthetic(i)).status()).isEqualTo(200);
        }
    }

    /**
     * Fraction of the synthetic model's requests with {@code outcome} whose node-side duration fell
     * in histogram buckets up to {@code maxSeconds}; the buckets are Micrometer's, so the bound used
     * is the largest bucket edge not above {@code maxSeconds}.
     */
    private double fractionWithin(String outcome, double maxSeconds) {
        String prefix = "levee_request_duration_seconds_bucket{model=\"synthetic\",outcome=\"" + outcome + "\",le=\"";
        double bestEdge = -1;
        double within = 0;
        double total = 0;
        for (String line : node.get("/metrics").body().split("\n")) {
            if (!line.startsWith(prefix)) {
                continue;
            }
            String edgeText = line.substring(prefix.length(), line.indexOf('"', prefix.length()));
            double count = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            if (edgeText.equals("+Inf")) {
                total = count;
            } else {
                double edge = Double.parseDouble(edgeText);
                if (edge <= maxSeconds && edge > bestEdge) {
                    bestEdge = edge;
                    within = count;
                }
            }
        }
        assertThat(total).as("rejections recorded").isPositive();
        return within / total;
    }

    @Test
    void clientThatDisconnectsWhileQueuedTakesItsRequestAlong() throws Exception {
        Gate gate = new Gate();
        start(gate, config(1, 1, Duration.ofSeconds(10)));
        CompletableFuture<Reply> running = node.postAsync(SYNTHETIC_INFER, synthetic(1));
        gate.awaitStarted(1);
        String body = synthetic(2);
        try (Socket socket = new Socket("127.0.0.1", node.node.port())) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST " + SYNTHETIC_INFER + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
            out.flush();
            awaitTrue(() -> node.node.registry().find("synthetic", "").queueDepth() == 1, "request queued");
        }
        awaitTrue(() -> metric("levee_cancellations_total{model=\"synthetic\"}") == 1, "cancellation counted");
        assertThat(node.node.registry().find("synthetic", "").queueDepth()).isZero();
        gate.openForever();
        assertThat(running.get(WAIT_SECONDS, TimeUnit.SECONDS).status()).isEqualTo(200);
        assertThat(node.post(SYNTHETIC_INFER, synthetic(3)).status()).isEqualTo(200);
        assertThat(model.executedRequests()).as("the abandoned request never ran").isEqualTo(2);
    }

    @Test
    void timeoutsNeverLetMoreThanTheInstancesRunAtOnce() throws Exception {
        start(SyntheticModel.ServiceTime.sleeping(15), config(2, 2, Duration.ofSeconds(10)));
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        List<CompletableFuture<Timed>> requests = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            requests.add(timedPost(client, i, Integer.toString(1 + i % 40)));
        }
        int answered = 0;
        for (CompletableFuture<Timed> request : requests) {
            assertThat(request.get(WAIT_SECONDS, TimeUnit.SECONDS).reply().status()).isIn(200, 503, 504);
            answered++;
        }
        assertThat(answered).isEqualTo(120);
        awaitTrue(() -> node.node.registry().find("synthetic", "").inFlight() == 0, "running batches end");
        assertThat(model.maxConcurrentRuns()).isLessThanOrEqualTo(2);
        assertThat(model.startedPastDeadline()).isZero();
    }

    @Test
    void manyExpiredRequestsLeaveNormalLoadUnaffected() throws Exception {
        start(SyntheticModel.ServiceTime.sleeping(5), config(4, 1, Duration.ofSeconds(10)));
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        List<CompletableFuture<Timed>> doomed = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            doomed.add(timedPost(client, i, "1"));
        }
        for (CompletableFuture<Timed> request : doomed) {
            assertThat(request.get(WAIT_SECONDS, TimeUnit.SECONDS).reply().status()).isIn(200, 503, 504);
        }
        awaitTrue(() -> node.node.registry().find("synthetic", "").queueDepth() == 0, "queue empties");
        long[] latencies = new long[20];
        for (int i = 0; i < latencies.length; i++) {
            Timed timed = timedPost(client, 500 + i, null).get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertThat(timed.reply().status()).isEqualTo(200);
            assertThat(timed.reply().json().at("/outputs/0/data/0").floatValue()).isEqualTo(500f + i);
            latencies[i] = timed.millis();
        }
        Arrays.sort(latencies);
        assertThat(latencies[latencies.length / 2]).as("median latency in ms after the storm").isLessThan(100);
        assertThat(model.startedPastDeadline()).isZero();
    }

    @Test
    void timeoutFromHeaderOrParameterEndsInA504() throws Exception {
        Gate gate = new Gate();
        start(gate, config(1, 1, Duration.ofSeconds(10)));
        CompletableFuture<Reply> holder = node.postAsync(SYNTHETIC_INFER, synthetic(1));
        gate.awaitStarted(1);
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        Timed byHeader = timedPost(client, 2, "50").get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(byHeader.reply().status()).isEqualTo(504);
        assertThat(byHeader.reply().json().get("error").asText()).contains("deadline");
        String withParameter = "{\"parameters\":{\"timeout\":50000},\"inputs\":[{\"name\":\"INPUT0\","
                + "\"datatype\":\"FP32\",\"shape\":[1,1],\"data\":[3]}]}";
        assertThat(node.post(SYNTHETIC_INFER, withParameter).status()).isEqualTo(504);
        gate.openForever();
        assertThat(holder.get(WAIT_SECONDS, TimeUnit.SECONDS).status()).isEqualTo(200);
        assertThat(model.executedRequests()).as("expired requests never ran").isEqualTo(1);
        assertThat(metric("levee_expirations_total{model=\"synthetic\"}")).isEqualTo(2);
    }

    @Test
    void invalidTimeoutOrPriorityGets400() throws Exception {
        start(SyntheticModel.ServiceTime.sleeping(0), config(4, 1, Duration.ofSeconds(10)));
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        Timed badHeader = timedPost(client, 1, "soon").get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(badHeader.reply().status()).isEqualTo(400);
        assertThat(badHeader.reply().json().get("error").asText()).contains("Levee-Timeout-Ms");
        String badParameter = "{\"parameters\":{\"timeout\":-5},\"inputs\":[{\"name\":\"INPUT0\","
                + "\"datatype\":\"FP32\",\"shape\":[1,1],\"data\":[3]}]}";
        assertThat(node.post(SYNTHETIC_INFER, badParameter).json().get("error").asText()).contains("timeout");
        String badPriority = badParameter.replace("\"timeout\":-5", "\"priority\":\"urgent\"");
        Reply reply = node.post(SYNTHETIC_INFER, badPriority);
        assertThat(reply.status()).isEqualTo(400);
        assertThat(reply.json().get("error").asText()).contains("priority");
        assertThat(node.post(SYNTHETIC_INFER, synthetic(4)).status()).isEqualTo(200);
    }

    private double metric(String series) {
        for (String line : node.get("/metrics").body().split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        return 0;
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + " did not happen within " + WAIT_SECONDS + " s");
            }
            Thread.sleep(5);
        }
    }
}
