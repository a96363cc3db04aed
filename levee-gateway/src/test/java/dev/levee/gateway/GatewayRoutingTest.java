package dev.levee.gateway;

import static dev.levee.gateway.TestCluster.assertOk;
import static dev.levee.gateway.TestCluster.await;
import static dev.levee.gateway.TestCluster.awaitTrue;
import static dev.levee.gateway.TestCluster.echoed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.levee.core.NodeLoad;
import dev.levee.gateway.TestCluster.TestNode;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Where a real gateway sends requests among real in-process nodes. */
class GatewayRoutingTest {
    private final TestCluster cluster = new TestCluster();

    @AfterEach
    void stop() throws Exception {
        cluster.close();
    }

    @Test
    void requestsGoToTheLessLoadedNode() throws Exception {
        TestNode busy = cluster.startGatedNode(256);
        TestNode idle = cluster.startNode(0);
        cluster.startGateway(TestCluster.options().build());
        // Four requests sent around the gateway: one runs on the busy node and three wait behind it.
        List<CompletableFuture<HttpResponse<String>>> held = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            held.add(cluster.sendToNode(busy, 100 + i));
        }
        awaitTrue(() -> cluster.gatewayNode(busy).estimatedLoad() == 4, "the gateway learns the busy node's load");

        for (int i = 0; i < 20; i++) {
            HttpResponse<String> response = cluster.send(cluster.infer(i, 5000));
            assertOk(response);
            assertThat(echoed(response)).isEqualTo(i);
            assertThat(response.headers().firstValue(NodeLoad.HEADER)).as("the load report stays in the gateway")
                    .isEmpty();
        }
        assertThat(idle.model().executedRequests()).isEqualTo(20);
        assertThat(cluster.gatewayMetric("levee_gateway_attempts_total{node=\"" + idle.address()
                + "\",result=\"200\"}")).isEqualTo(20);
        assertThat(cluster.gatewayMetric("levee_gateway_requests_total{outcome=\"success\"}")).isEqualTo(20);

        busy.gate().openForever();
        for (CompletableFuture<HttpResponse<String>> response : held) {
            assertOk(await(response));
        }
    }

    @Test
    void concurrentRequestsSpreadOverNodes() throws Exception {
        TestNode first = cluster.startNode(20);
        TestNode second = cluster.startNode(20);
        cluster.startGateway(TestCluster.options().build());
        // Until the gateway has seen the model ready on both nodes it prefers the one it knows;
        // sequential requests first, until each node has served one, keep that out of the burst.
        long limit = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        int warmup = 0;
        while (first.model().executedRequests() == 0 || second.model().executedRequests() == 0) {
            assertThat(System.nanoTime()).as("both nodes serve a request").isLessThan(limit);
            assertOk(cluster.send(cluster.infer(1000 + warmup++, 10_000)));
        }
        long firstBefore = first.model().executedRequests();
        long secondBefore = second.model().executedRequests();
        List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            responses.add(cluster.sendAsync(cluster.infer(i, 10_000)));
        }
        for (int i = 0; i < responses.size(); i++) {
            HttpResponse<String> response = await(responses.get(i));
            assertOk(response);
            assertThat(echoed(response)).isEqualTo(i);
        }
        // Each attempt raises the gateway's estimate of its node's load at once, so concurrent
        // requests alternate. The bounds leave room for the randomness of the two draws.
        long firstBurst = first.model().executedRequests() - firstBefore;
        long secondBurst = second.model().executedRequests() - secondBefore;
        assertThat(firstBurst).isBetween(10L, 30L);
        assertThat(secondBurst).isBetween(10L, 30L);
        assertThat(firstBurst + secondBurst).isEqualTo(40);
    }

    @Test
    void onlyNodesWithTheModelGetItsRequests() throws Exception {
        TestNode withModel = cluster.startNode(0);
        TestNode withoutModel = cluster.startNodeWithModel("other");
        cluster.startGateway(TestCluster.options().build());
        for (int i = 0; i < 20; i++) {
            assertOk(cluster.send(cluster.infer(i, 5000)));
        }
        assertThat(withModel.model().executedRequests()).isEqualTo(20);
        assertThat(cluster.gatewayMetricSum("levee_gateway_attempts_total{node=\"" + withoutModel.address()))
                .as("no request was sent to the node without the model")
                .isZero();

        HttpResponse<String> missing = cluster.send(cluster.request("/v2/models/absent/infer")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(TestCluster.body(1)))
                .build());
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.body()).contains("absent");
        assertThat(cluster.gatewayMetricSum("levee_gateway_attempts_total")).as("no attempt for an absent model")
                .isEqualTo(20);
    }

    @Test
    void nodeFoundByDnsJoinsAndGetsTraffic() throws Exception {
        TestNode ipv4 = cluster.startNode("127.0.0.1", 0, 0);
        // Netty fails to bind [::1] on a port that 127.0.0.1 already uses, so the IPv6 node has its
        // own port and its own name. Each name stands for every address it resolves to.
        TestNode ipv6 = cluster.startNode("::1", 0, 0);
        Map<String, List<InetAddress>> zone = new ConcurrentHashMap<>();
        zone.put("v4.levee.test", List.of(ip("127.0.0.1")));
        zone.put("v6.levee.test", List.of());
        NodeSource source = NodeSource.parse("dns:v4.levee.test:" + ipv4.node().port()
                + ",dns:v6.levee.test:" + ipv6.node().port(), name -> {
                    List<InetAddress> addresses = zone.get(name);
                    if (addresses == null) {
                        throw new UnknownHostException(name);
                    }
                    return addresses;
                });
        cluster.startGateway(TestCluster.options().rampUp(Duration.ofMillis(300)).build(), source);
        cluster.awaitServing(1);
        for (int i = 0; i < 10; i++) {
            assertOk(cluster.send(cluster.infer(i, 5000)));
        }
        assertThat(ipv4.model().executedRequests()).isEqualTo(10);

        zone.put("v6.levee.test", List.of(ip("::1")));
        cluster.awaitServing(2);
        // Past the ramp-up the two idle nodes cost the same, so each takes about half of sequential requests.
        Thread.sleep(400);
        for (int i = 0; i < 40; i++) {
            assertOk(cluster.send(cluster.infer(i, 5000)));
        }
        assertThat(ipv6.model().executedRequests()).as("requests on the node that joined").isGreaterThanOrEqualTo(8);

        zone.put("v4.levee.test", List.of());
        awaitTrue(() -> cluster.gatewayMetricSum("levee_gateway_node_serving{node=\"" + ipv4.address()) == 0
                && cluster.gatewayMetricSum("levee_gateway_node_serving") == 1, "the first node leaves the gateway");
        long before = ipv4.model().executedRequests();
        for (int i = 0; i < 5; i++) {
            assertOk(cluster.send(cluster.infer(i, 5000)));
        }
        assertThat(ipv4.model().executedRequests()).as("a node gone from DNS gets no requests").isEqualTo(before);
    }

    private static InetAddress ip(String literal) throws UnknownHostException {
        return InetAddress.getByName(literal);
    }

    @Test
    void configAndStatsRouteByModel() throws Exception {
        TestNode synthetic = cluster.startNode(0);
        TestNode other = cluster.startNodeWithModel("other");
        cluster.startGateway(TestCluster.options().build());
        for (int i = 0; i < 10; i++) {
            for (String model : List.of("synthetic", "other")) {
                HttpResponse<String> config = cluster.send(cluster.request("/v2/models/" + model + "/config").build());
                assertOk(config);
                assertThat(config.body()).contains("\"name\":\"" + model + "\"");
                HttpResponse<String> stats = cluster.send(
                        cluster.request("/v2/models/" + model + "/versions/1/stats").build());
                assertOk(stats);
                assertThat(stats.body()).contains("\"name\":\"" + model + "\"");
            }
        }
        HttpResponse<String> all = cluster.send(cluster.request("/v2/models/stats").build());
        assertOk(all);
        assertThat(all.body()).as("one node's statistics").containsAnyOf("\"synthetic\"", "\"other\"");
        HttpResponse<String> missing = cluster.send(cluster.request("/v2/models/absent/config").build());
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(cluster.gatewayMetricSum("levee_gateway_attempts_total{node=\"" + synthetic.address()
                + "\",result=\"404\"")).as("no config or stats request reached a node without its model")
                .isZero();
        assertThat(cluster.gatewayMetricSum("levee_gateway_attempts_total{node=\"" + other.address()
                + "\",result=\"404\"")).isZero();
    }

    @Test
    void modelKeyOfConfigAndStatisticsPaths() {
        assertThat(GatewayApi.modelKey(List.of("v2", "models", "m", "config"))).isEqualTo(new ModelKey("m", ""));
        assertThat(GatewayApi.modelKey(List.of("v2", "models", "m", "versions", "2", "stats")))
                .isEqualTo(new ModelKey("m", "2"));
        assertThat(GatewayApi.modelKey(List.of("v2", "models", "stats"))).isEqualTo(ModelKey.NONE);
        assertThat(GatewayApi.modelKey(List.of("v2", "models", "m", "other"))).isEqualTo(ModelKey.NONE);
    }
}
