package dev.levee.gateway;

import static dev.levee.gateway.TestCluster.assertOk;
import static dev.levee.gateway.TestCluster.await;
import static dev.levee.gateway.TestCluster.awaitTrue;
import static dev.levee.gateway.TestCluster.echoed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.levee.gateway.TestCluster.TestNode;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What a real gateway does when real in-process nodes fail, fill up or reject requests. */
class GatewayFailoverTest {
    private final TestCluster cluster = new TestCluster();

    @AfterEach
    void stop() throws Exception {
        cluster.close();
    }

    /** Fills a gated node with limit 1: one request runs, one waits, so every further one gets 503. */
    private List<CompletableFuture<HttpResponse<String>>> fill(TestNode node) throws Exception {
        List<CompletableFuture<HttpResponse<String>>> held = new ArrayList<>();
        held.add(cluster.sendToNode(node, 1));
        node.gate().awaitStarted(1);
        held.add(cluster.sendToNode(node, 2));
        awaitTrue(() -> node.node().registry().pendingRequests() == 2, "the node's queue fills");
        return held;
    }

    @Test
    void closedNodeCausesNoClientErrors() throws Exception {
        cluster.startNode(3);
        cluster.startNode(3);
        TestNode doomed = cluster.startNode(3);
        cluster.startGateway(TestCluster.options().build());
        int total = 300;
        int concurrency = 6;
        List<Integer> statuses = new ArrayList<>();
        List<CompletableFuture<HttpResponse<String>>> window = new ArrayList<>();
        for (int i = 0; i < total; i++) {
            if (i == total / 3) {
                cluster.kill(doomed);
            }
            window.add(cluster.sendAsync(cluster.infer(i, 10_000)));
            if (window.size() == concurrency) {
                HttpResponse<String> response = await(window.removeFirst());
                statuses.add(response.statusCode());
                assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            }
        }
        for (CompletableFuture<HttpResponse<String>> response : window) {
            statuses.add(await(response).statusCode());
        }
        assertThat(statuses).hasSize(total).containsOnly(200);
        assertThat(cluster.gatewayNode(doomed).serving()).as("the closed node is out of routing").isFalse();
        assertThat(cluster.gatewayMetric("levee_gateway_requests_total{outcome=\"success\"}")).isEqualTo(total);
    }

    @Test
    void drainingNodeLeavesRoutingBeforeItRejects() throws Exception {
        TestNode draining = cluster.startNode(0);
        TestNode staying = cluster.startNode(0);
        cluster.startGateway(TestCluster.options().build());
        Thread drain = Thread.ofPlatform().name("test-drain")
                .start(() -> draining.node().drain(Duration.ofSeconds(2)));
        try {
            awaitTrue(() -> !cluster.gatewayNode(draining).serving(), "the gateway sees the node not ready");
            assertThat(draining.node().state().accepting()).as("still within the grace period").isTrue();
            for (int i = 0; i < 20; i++) {
                assertOk(cluster.send(cluster.infer(i, 5000)));
            }
            assertThat(staying.model().executedRequests()).isEqualTo(20);
            assertThat(draining.model().executedRequests()).isZero();
        } finally {
            drain.join(TimeUnit.SECONDS.toMillis(TestCluster.WAIT_SECONDS));
        }
        assertThat(drain.isAlive()).as("drain finished").isFalse();
    }

    @Test
    void onlyNodeStillServesWhileItDrains() throws Exception {
        TestNode only = cluster.startNode(0);
        cluster.startGateway(TestCluster.options().build());
        assertOk(cluster.send(cluster.infer(1, 5000)));
        Thread drain = Thread.ofPlatform().name("test-drain").start(() -> only.node().drain(Duration.ofSeconds(5)));
        try {
            awaitTrue(() -> cluster.gatewayNode(only).standby(), "the gateway sees the node draining");
            assertThat(cluster.send(cluster.request("/v2/health/ready").GET().build()).statusCode())
                    .as("the gateway's own readiness").isEqualTo(503);
            int served = 0;
            for (int i = 0; i < 10; i++) {
                boolean admitting = only.node().state().accepting();
                HttpResponse<String> response = cluster.send(cluster.infer(i, 5000));
                // Only a request sent and completed within the grace period must succeed.
                if (admitting && only.node().state().accepting()) {
                    assertOk(response);
                    assertThat(echoed(response)).isEqualTo(i);
                    served++;
                }
            }
            assertThat(served).as("requests the draining node served through the gateway").isPositive();
        } finally {
            drain.join(TimeUnit.SECONDS.toMillis(TestCluster.WAIT_SECONDS));
        }
        assertThat(drain.isAlive()).as("drain finished").isFalse();
    }

    @Test
    void fullNodeRequestsAreRetriedElsewhere() throws Exception {
        TestNode full = cluster.startGatedNode(1);
        TestNode roomy = cluster.startGatedNode(256);
        cluster.startGateway(TestCluster.options().build());
        List<CompletableFuture<HttpResponse<String>>> held = fill(full);
        // Six requests held on the roomy node make it look busier than the full one, so the gateway
        // tries the full one first.
        for (int i = 0; i < 6; i++) {
            held.add(cluster.sendToNode(roomy, 10 + i));
        }
        awaitTrue(() -> cluster.gatewayNode(roomy).estimatedLoad() == 6
                && cluster.gatewayNode(full).estimatedLoad() == 2, "the gateway learns both loads");

        List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            responses.add(cluster.sendAsync(cluster.infer(50 + i, 10_000)));
        }
        awaitTrue(() -> roomy.node().registry().pendingRequests() == 6 + responses.size(),
                "every request reaches the roomy node");
        assertThat(cluster.gatewayMetric("levee_gateway_retries_total{reason=\"503\"}"))
                .as("requests retried after the full node's 503")
                .isGreaterThanOrEqualTo(1);
        roomy.gate().openForever();
        full.gate().openForever();
        for (int i = 0; i < responses.size(); i++) {
            HttpResponse<String> response = await(responses.get(i));
            assertOk(response);
            assertThat(echoed(response)).isEqualTo(50 + i);
        }
        for (CompletableFuture<HttpResponse<String>> response : held) {
            assertOk(await(response));
        }
        assertThat(TestCluster.nodeMetric(full, "levee_rejections_total{model=\"synthetic\",reason=\"queue_full\"}"))
                .isGreaterThanOrEqualTo(1);
        assertThat(full.model().executedRequests()).as("only the requests sent to it directly").isEqualTo(2);
    }

    @Test
    void clientErrorsAreNotRetried() throws Exception {
        TestNode first = cluster.startNode(0);
        TestNode second = cluster.startNode(0);
        cluster.startGateway(TestCluster.options().build());
        HttpResponse<String> malformed = cluster.send(cluster.request(TestCluster.INFER)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{"))
                .build());
        assertThat(malformed.statusCode()).isEqualTo(400);
        assertThat(malformed.body()).contains("error");
        HttpResponse<String> wrongType = cluster.send(cluster.request(TestCluster.INFER)
                .header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString(TestCluster.body(1)))
                .build());
        assertThat(wrongType.statusCode()).isEqualTo(415);
        HttpResponse<String> badTimeout = cluster.send(cluster.request(TestCluster.INFER)
                .header("Content-Type", "application/json")
                .header("Levee-Timeout-Ms", "soon")
                .POST(HttpRequest.BodyPublishers.ofString(TestCluster.body(1)))
                .build());
        assertThat(badTimeout.statusCode()).as("rejected by the gateway itself").isEqualTo(400);

        String invalid = "levee_requests_total{model=\"synthetic\",outcome=\"invalid_argument\"}";
        assertThat(TestCluster.nodeMetric(first, invalid) + TestCluster.nodeMetric(second, invalid)).isEqualTo(1);
        assertThat(cluster.gatewayMetricSum("levee_gateway_attempts_total")).as("one attempt per forwarded request")
                .isEqualTo(2);
        assertThat(cluster.gatewayMetricSum("levee_gateway_retries_total")).isZero();
    }

    @Test
    void internalErrorIsRetriedOnceOnly() throws Exception {
        cluster.startNode(0);
        cluster.startNode(0);
        cluster.startNode(0);
        cluster.startGateway(TestCluster.options().build());
        HttpResponse<String> response = cluster.send(cluster.infer(TestCluster.FAIL_MARKER, 5000));
        assertThat(response.statusCode()).isEqualTo(500);
        assertThat(cluster.gatewayMetricSum("levee_gateway_attempts_total")).as("two nodes failed it, then it stopped")
                .isEqualTo(2);
        assertThat(cluster.gatewayMetric("levee_gateway_retries_total{reason=\"500\"}")).isEqualTo(1);
        assertOk(cluster.send(cluster.infer(3, 5000)));
    }

    @Test
    void stalledNodeIsRetriedAfterTimeout() throws Exception {
        TestNode stalled = cluster.startGatedNode(256);
        TestNode healthy = cluster.startNode(0);
        AtomicReference<List<NodeAddress>> nodes = new AtomicReference<>(List.of(stalled.address()));
        // Both nodes ramp up over five minutes from a tenth of full weight. The stalled node became
        // ready first, so its weight is higher, and with no load on either it is tried first.
        cluster.startGateway(TestCluster.options()
                .rampUp(Duration.ofMinutes(5))
                .attemptTimeout(Duration.ofMillis(300))
                .build(), nodes::get);
        cluster.awaitServing(1);
        nodes.set(List.of(stalled.address(), healthy.address()));
        cluster.awaitServing(2);

        long start = System.nanoTime();
        HttpResponse<String> response = cluster.send(cluster.infer(7, 5000));
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertOk(response);
        assertThat(echoed(response)).isEqualTo(7);
        assertThat(elapsedMillis).as("the first attempt waited for its timeout").isGreaterThanOrEqualTo(300);
        assertThat(cluster.gatewayMetric("levee_gateway_retries_total{reason=\"timeout\"}")).isEqualTo(1);
        assertThat(healthy.model().executedRequests()).isEqualTo(1);
    }

    @Test
    void deadlineEndsTheRequestWith504() throws Exception {
        cluster.startGatedNode(256);
        cluster.startGateway(TestCluster.options().build());
        long start = System.nanoTime();
        HttpResponse<String> response = cluster.send(cluster.infer(1, 200));
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(504);
        assertThat(elapsedMillis).isBetween(190L, 5000L);
    }

    @Test
    void allNodesFullGets503Fast() throws Exception {
        TestNode first = cluster.startGatedNode(1);
        TestNode second = cluster.startGatedNode(1);
        cluster.startGateway(TestCluster.options().build());
        List<CompletableFuture<HttpResponse<String>>> held = new ArrayList<>(fill(first));
        held.addAll(fill(second));

        long start = System.nanoTime();
        HttpResponse<String> response = cluster.send(cluster.infer(9, 10_000));
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(response.headers().firstValue("Retry-After")).hasValueSatisfying(
                value -> assertThat(value).matches("[1-9][0-9]*"));
        assertThat(elapsedMillis).as("rejected without waiting for the held requests").isLessThan(2000);
        assertThat(cluster.gatewayMetric("levee_gateway_retries_total{reason=\"503\"}")).isEqualTo(1);
        assertThat(cluster.gatewayMetric("levee_gateway_requests_total{outcome=\"unavailable\"}")).isEqualTo(1);

        first.gate().openForever();
        second.gate().openForever();
        for (CompletableFuture<HttpResponse<String>> heldResponse : held) {
            assertOk(await(heldResponse));
        }
    }

    @Test
    void spentRetryBudgetRelaysTheFirstAnswer() throws Exception {
        TestNode full = cluster.startGatedNode(1);
        TestNode busier = cluster.startGatedNode(256);
        cluster.startGateway(TestCluster.options().retryBudget(0, 0).build());
        List<CompletableFuture<HttpResponse<String>>> held = fill(full);
        for (int i = 0; i < 6; i++) {
            held.add(cluster.sendToNode(busier, 10 + i));
        }
        awaitTrue(() -> cluster.gatewayNode(busier).estimatedLoad() == 6
                && cluster.gatewayNode(full).estimatedLoad() == 2, "the gateway learns both loads");

        HttpResponse<String> response = cluster.send(cluster.infer(5, 5000));
        assertThat(response.statusCode()).as("the full node's answer, not retried").isEqualTo(503);
        assertThat(response.headers().firstValue("Retry-After")).isPresent();
        assertThat(cluster.gatewayMetric("levee_gateway_retries_denied_total")).isEqualTo(1);
        assertThat(cluster.gatewayMetricSum("levee_gateway_retries_total")).isZero();
        assertThat(cluster.gatewayMetricSum("levee_gateway_attempts_total")).isEqualTo(1);

        full.gate().openForever();
        busier.gate().openForever();
        for (CompletableFuture<HttpResponse<String>> heldResponse : held) {
            assertOk(await(heldResponse));
        }
    }

    @Test
    void noServingNodeGets503AtOnce() throws Exception {
        int refusing;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            refusing = socket.getLocalPort();
        }
        NodeAddress nowhere = new NodeAddress("127.0.0.1", refusing);
        cluster.startGateway(TestCluster.options().build(), () -> List.of(nowhere));
        HttpResponse<String> ready = cluster.send(cluster.request("/v2/health/ready").GET().build());
        assertThat(ready.statusCode()).isEqualTo(503);
        HttpResponse<String> response = cluster.send(cluster.infer(1, 5000));
        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(response.headers().firstValue("Retry-After")).contains("1");
        assertThat(response.body()).contains("no node is ready");
        assertThat(cluster.send(cluster.request("/v2/health/live").GET().build()).statusCode()).isEqualTo(200);
    }
}
