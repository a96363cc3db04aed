package dev.levee.gateway;

import static dev.levee.gateway.StandInKubernetesApi.endpointWith;
import static dev.levee.gateway.StandInKubernetesApi.port;
import static dev.levee.gateway.StandInKubernetesApi.slice;
import static dev.levee.gateway.TestCluster.assertOk;
import static dev.levee.gateway.TestCluster.awaitTrue;
import static dev.levee.gateway.TestCluster.echoed;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.levee.gateway.TestCluster.TestNode;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A real gateway whose {@code k8s:} entry learns real nodes from a stand-in Kubernetes API. */
class GatewayKubernetesDiscoveryTest {
    private final TestCluster cluster = new TestCluster();

    @AfterEach
    void stop() throws Exception {
        cluster.close();
    }

    /**
     * Returns a slice with {@code node} as its one endpoint. Each node has a slice of its own
     * because the nodes share 127.0.0.1 and differ in port, and a slice's ports apply to all its
     * endpoints.
     */
    private static ObjectNode sliceOf(TestNode node, Boolean ready, Boolean terminating) {
        return slice("levee", "levee-nodes", "levee-nodes-" + node.node().port(), "IPv4",
                List.of(port("metrics", 9090), port("http", node.node().port())),
                List.of(endpointWith(ready, terminating, node.host())));
    }

    private void awaitNodes(TestNode... nodes) throws InterruptedException {
        List<NodeAddress> expected = List.of(nodes).stream().map(TestNode::address).toList();
        awaitTrue(() -> cluster.gateway().table().nodes().stream().map(Node::address).toList().equals(expected),
                "the gateway's nodes become " + expected);
        cluster.awaitServing(nodes.length);
    }

    private void sendAndCheck(int count) {
        for (int i = 0; i < count; i++) {
            HttpResponse<String> response = cluster.send(cluster.infer(i, 5000));
            assertOk(response);
            assertThat(echoed(response)).isEqualTo(i);
        }
    }

    @Test
    void slicesAddAndRemoveRoutedNodes() throws Exception {
        TestNode first = cluster.startNode(0);
        TestNode second = cluster.startNode(0);
        StandInKubernetesApi api = StandInKubernetesApi.http();
        cluster.stopLast(api);
        api.put(sliceOf(first, true, false));
        KubernetesConfig config = KubernetesConfig.of(api.uri()).withTimeout(Duration.ofSeconds(2));
        NodeSource source = NodeSource.parse("k8s:levee/levee-nodes:http", HostResolver.SYSTEM, () -> config);
        cluster.startGateway(TestCluster.options().build(), source);
        awaitNodes(first);
        sendAndCheck(5);
        assertThat(first.model().executedRequests()).isEqualTo(5);

        // A new ready endpoint joins and gets requests.
        api.put(sliceOf(second, null, null));
        awaitNodes(first, second);
        // Until the gateway has seen the model ready on the new node, it prefers the node where it
        // has seen the model ready.
        ModelKey model = new ModelKey("synthetic", "");
        awaitTrue(() -> cluster.gatewayNode(second).modelState(model) == Node.ModelState.READY,
                "the gateway sees the model ready on the new node");
        long limit = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (int sent = 0; second.model().executedRequests() == 0; sent++) {
            // Equal loads make each request go to either node with probability 1/2.
            assertThat(sent).as("requests sent before the new node got one").isLessThan(100);
            assertThat(System.nanoTime()).as("the new node gets a request within 10 s").isLessThan(limit);
            sendAndCheck(1);
        }

        // An endpoint that is no longer ready leaves; all requests go to the other node.
        api.put(sliceOf(first, false, false));
        awaitNodes(second);
        long firstBefore = first.model().executedRequests();
        long secondBefore = second.model().executedRequests();
        sendAndCheck(10);
        assertThat(first.model().executedRequests()).isEqualTo(firstBefore);
        assertThat(second.model().executedRequests()).isEqualTo(secondBefore + 10);

        // A terminating endpoint leaves as well, and one that is ready again comes back.
        api.put(sliceOf(first, true, false));
        api.put(sliceOf(second, true, true));
        awaitNodes(first);
        sendAndCheck(10);
        assertThat(second.model().executedRequests()).isEqualTo(secondBefore + 10);
        assertThat(first.model().executedRequests()).isEqualTo(firstBefore + 10);
    }

    @Test
    void failingApiKeepsRoutingToKnownNodes() throws Exception {
        TestNode node = cluster.startNode(0);
        StandInKubernetesApi api = StandInKubernetesApi.http();
        cluster.stopLast(api);
        api.put(sliceOf(node, true, false));
        KubernetesConfig config = KubernetesConfig.of(api.uri()).withTimeout(Duration.ofSeconds(2));
        cluster.startGateway(TestCluster.options().build(),
                NodeSource.parse("k8s:levee/levee-nodes", HostResolver.SYSTEM, () -> config));
        awaitNodes(node);

        api.fail(403, StandInKubernetesApi.status(403, "Forbidden", "endpointslices.discovery.k8s.io is forbidden"));
        int before = api.requests().size();
        awaitTrue(() -> api.requests().size() >= before + 3, "three discovery rounds against the failing API");
        assertThat(cluster.gateway().table().nodes()).extracting(Node::address).containsExactly(node.address());
        sendAndCheck(3);
        assertThat(node.model().executedRequests()).isEqualTo(3);
    }
}
