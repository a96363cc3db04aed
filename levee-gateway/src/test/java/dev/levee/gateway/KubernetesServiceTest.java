package dev.levee.gateway;

import static dev.levee.gateway.StandInKubernetesApi.endpoint;
import static dev.levee.gateway.StandInKubernetesApi.endpointWith;
import static dev.levee.gateway.StandInKubernetesApi.port;
import static dev.levee.gateway.StandInKubernetesApi.slice;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Parsing of {@code k8s:} node entries, and which endpoints of which EndpointSlices become nodes. */
class KubernetesServiceTest {
    /** The start of an EndpointSliceList body, up to its items. */
    private static final String LIST = "{\"kind\":\"EndpointSliceList\",\"items\":";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Supplier<String> OWN_NAMESPACE = () -> "pods-own";

    private static KubernetesService parse(String entry) {
        return KubernetesService.parse(entry, OWN_NAMESPACE);
    }

    /** Reads {@code slices} the way the gateway reads a list page from the API. */
    private static List<EndpointSlice> read(ObjectNode... slices) throws IOException {
        ObjectNode list = JSON.createObjectNode();
        list.put("kind", "EndpointSliceList");
        ArrayNode items = list.putArray("items");
        for (ObjectNode slice : slices) {
            items.add(slice);
        }
        return EndpointSlice.parsePage(JSON.readTree(list.toString())).items();
    }

    private static ObjectNode httpSlice(String name, ObjectNode... endpoints) {
        return slice("levee", "nodes", name, "IPv4", List.of(port("http", 8000)), List.of(endpoints));
    }

    @Test
    void entryFormsParse() {
        assertThat(parse("k8s:nodes")).isEqualTo(
                new KubernetesService("pods-own", "nodes", new ServicePort.Unspecified()));
        assertThat(parse("k8s:levee/nodes")).isEqualTo(
                new KubernetesService("levee", "nodes", new ServicePort.Unspecified()));
        assertThat(parse("k8s:levee/nodes:9000")).isEqualTo(
                new KubernetesService("levee", "nodes", new ServicePort.Numbered(9000)));
        assertThat(parse("k8s:nodes:grpc-2")).isEqualTo(
                new KubernetesService("pods-own", "nodes", new ServicePort.Named("grpc-2")));
        assertThat(parse("k8s:0-team/levee-nodes-1:http").toString()).isEqualTo("k8s:0-team/levee-nodes-1:http");
    }

    @Test
    void ownNamespaceIsReadOnlyWhenNeeded() {
        Supplier<String> unreadable = () -> {
            throw new AssertionError("the entry names its namespace");
        };
        assertThat(KubernetesService.parse("k8s:levee/nodes", unreadable).namespace()).isEqualTo("levee");
    }

    @Test
    void invalidEntriesAreRejected() {
        List<String> bad = List.of("k8s:", "k8s:/nodes", "k8s:levee/", "k8s:Nodes", "k8s:1nodes", "k8s:nodes-",
                "k8s:levee/nodes/extra", "k8s:le_vee/nodes", "k8s:nodes:", "k8s:nodes:0", "k8s:nodes:65536",
                "k8s:nodes:123456", "k8s:nodes:HTTP", "k8s:nodes:-http", "k8s:nodes:http:80", "k8s:" + "n".repeat(64),
                "dns:nodes");
        for (String entry : bad) {
            assertThatThrownBy(() -> parse(entry)).as(entry)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(entry);
        }
        assertThatThrownBy(() -> parse("k8s:Nodes")).hasMessageContaining("k8s:[NAMESPACE/]SERVICE[:PORT]");
        assertThatThrownBy(() -> parse("k8s:nodes:70000")).hasMessageContaining("1 to 65535");
    }

    @Test
    void readyConditionDecidesWhichEndpointsAreNodes() throws Exception {
        List<EndpointSlice> slices = read(httpSlice("nodes-a",
                endpointWith(true, false, "10.0.0.1"),
                endpointWith(null, null, "10.0.0.2"),
                endpointWith(false, false, "10.0.0.3"),
                endpointWith(true, true, "10.0.0.4"),
                endpointWith(null, true, "10.0.0.5"),
                endpointWith(true, null, "10.0.0.6")));
        assertThat(parse("k8s:levee/nodes").addresses(slices)).containsExactly(
                new NodeAddress("10.0.0.1", 8000), new NodeAddress("10.0.0.2", 8000),
                new NodeAddress("10.0.0.6", 8000));
    }

    @Test
    void everyAddressOfEverySliceCounts() throws Exception {
        List<EndpointSlice> slices = read(
                httpSlice("nodes-a", endpoint("10.0.0.1", "10.0.0.2")),
                slice("levee", "nodes", "nodes-b", "IPv6", List.of(port("http", 8000)),
                        List.of(endpoint("fd00::1"), endpoint("10.0.0.1"))),
                // An endpoint moving between slices can be in both for a moment: it is one node.
                httpSlice("nodes-c", endpoint("10.0.0.2")));
        assertThatThrownBy(() -> parse("k8s:levee/nodes").addresses(slices))
                .as("an IPv4 address in an IPv6 slice is a bad response")
                .hasMessageContaining("'10.0.0.1', which is not an IPv6 address");

        List<EndpointSlice> valid = read(
                httpSlice("nodes-a", endpoint("10.0.0.1", "10.0.0.2")),
                slice("levee", "nodes", "nodes-b", "IPv6", List.of(port("http", 8000)), List.of(endpoint("fd00::1"))),
                httpSlice("nodes-c", endpoint("10.0.0.2")));
        List<NodeAddress> nodes = parse("k8s:levee/nodes").addresses(valid);
        assertThat(nodes).containsExactly(new NodeAddress("10.0.0.1", 8000), new NodeAddress("10.0.0.2", 8000),
                new NodeAddress("fd00::1", 8000));
        assertThat(nodes.get(2).toString()).isEqualTo("[fd00::1]:8000");
    }

    @Test
    void emptyAndFqdnSlicesGiveNoNodes() throws Exception {
        List<EndpointSlice> slices = read(
                httpSlice("nodes-empty"),
                slice("levee", "nodes", "nodes-fqdn", "FQDN", List.of(port("http", 8000)),
                        List.of(endpoint("node.example"))));
        assertThat(slices.getFirst().endpoints()).as("null endpoints read as none").isEmpty();
        assertThat(parse("k8s:levee/nodes").addresses(slices)).isEmpty();
    }

    @Test
    void defaultPortIsHttpElseOnlyPort() throws Exception {
        ObjectNode named = slice("levee", "nodes", "a", "IPv4",
                List.of(port("metrics", 9090), port("http", 8000), port("grpc", 8001)), List.of(endpoint("10.0.0.1")));
        ObjectNode only = slice("levee", "nodes", "b", "IPv4", List.of(port("", 7000)), List.of(endpoint("10.0.0.2")));
        assertThat(parse("k8s:levee/nodes").addresses(read(named, only))).containsExactly(
                new NodeAddress("10.0.0.1", 8000), new NodeAddress("10.0.0.2", 7000));

        ObjectNode ambiguous = slice("levee", "nodes", "c", "IPv4",
                List.of(port("metrics", 9090), port("grpc", 8001)), List.of(endpoint("10.0.0.3")));
        assertThatThrownBy(() -> parse("k8s:levee/nodes").addresses(read(ambiguous)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("EndpointSlice c of service levee/nodes has ports metrics 9090, grpc 8001")
                .hasMessageContaining("none is named 'http'")
                .hasMessageContaining("k8s:levee/nodes:PORT");

        ObjectNode portless = slice("levee", "nodes", "d", "IPv4", List.of(), List.of(endpoint("10.0.0.4")));
        assertThatThrownBy(() -> parse("k8s:levee/nodes").addresses(read(portless)))
                .hasMessageContaining("lists no TCP port");
        assertThat(parse("k8s:levee/nodes:8000").addresses(read(portless)))
                .containsExactly(new NodeAddress("10.0.0.4", 8000));
    }

    @Test
    void namedPortIsLookedUpInEachSlice() throws Exception {
        // Pods of one service may map a port name to different numbers, for example during a rollout.
        ObjectNode old = slice("levee", "nodes", "a", "IPv4", List.of(port("http", 8000), port("grpc", 8001)),
                List.of(endpoint("10.0.0.1")));
        ObjectNode rolled = slice("levee", "nodes", "b", "IPv4", List.of(port("http", 8000), port("grpc", 9001)),
                List.of(endpoint("10.0.0.2")));
        assertThat(parse("k8s:levee/nodes:grpc").addresses(read(old, rolled))).containsExactly(
                new NodeAddress("10.0.0.1", 8001), new NodeAddress("10.0.0.2", 9001));

        assertThatThrownBy(() -> parse("k8s:levee/nodes:admin").addresses(read(old)))
                .hasMessageContaining("has no port named 'admin' (its ports: http 8000, grpc 8001)");
    }

    @Test
    void numberedPortIsUsedAsItIs() throws Exception {
        ObjectNode slice = slice("levee", "nodes", "a", "IPv4", List.of(port("http", 8000)),
                List.of(endpoint("10.0.0.1")));
        assertThat(parse("k8s:levee/nodes:8080").addresses(read(slice)))
                .containsExactly(new NodeAddress("10.0.0.1", 8080));
    }

    @Test
    void portsOtherThanTcpAreIgnored() throws Exception {
        ObjectNode udp = port("http", 8000);
        udp.put("protocol", "UDP");
        ObjectNode slice = slice("levee", "nodes", "a", "IPv4", List.of(udp, port("", 8001)),
                List.of(endpoint("10.0.0.1")));
        assertThat(parse("k8s:levee/nodes").addresses(read(slice)))
                .containsExactly(new NodeAddress("10.0.0.1", 8001));
    }

    @Test
    void slicesWithoutServingEndpointsNeedNoPort() throws Exception {
        ObjectNode notReady = slice("levee", "nodes", "a", "IPv4", List.of(port("metrics", 9090), port("x", 1)),
                List.of(endpointWith(false, false, "10.0.0.1")));
        assertThat(parse("k8s:levee/nodes").addresses(read(notReady))).isEmpty();
    }

    @Test
    void responsesNotShapedLikeTheApiAreRejected() throws Exception {
        for (String body : List.of("[]", "{}", "{\"items\":{}}", "\"text\"", "{\"items\":[]}",
                "{\"kind\":\"PodList\",\"items\":[]}", "{\"kind\":\"PodList\",\"items\":null}")) {
            assertThatThrownBy(() -> EndpointSlice.parsePage(JSON.readTree(body))).as(body)
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("not an EndpointSliceList");
        }
        assertThatThrownBy(() -> EndpointSlice.parsePage(JSON.readTree(
                LIST + "[{\"endpoints\":[]}]}")))
                .hasMessageContaining("has no addressType");
        assertThatThrownBy(() -> EndpointSlice.parsePage(JSON.readTree(
                LIST + "[{\"addressType\":\"IPv4\",\"ports\":[{\"port\":70000}]}]}")))
                .hasMessageContaining("has port 70000 (expected: 1 to 65535)");
        assertThat(EndpointSlice.parsePage(JSON.readTree(LIST + "null}")).items())
                .isEmpty();
    }

    @Test
    void fieldsOfTheWrongTypeAreRejected() throws Exception {
        List<String> malformed = List.of(
                LIST + "[\"nodes-a\"]}",
                LIST + "[{\"addressType\":\"IPv4\",\"endpoints\":\"10.0.0.1\"}]}",
                LIST + "[{\"addressType\":\"IPv4\",\"endpoints\":{\"addresses\":[\"10.0.0.1\"]}}]}",
                LIST + "[{\"addressType\":\"IPv4\",\"endpoints\":[\"10.0.0.1\"]}]}",
                LIST + "[{\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":\"10.0.0.1\"}]}]}",
                LIST + "[{\"addressType\":\"IPv4\",\"endpoints\":[],\"ports\":\"http\"}]}",
                LIST + "[{\"addressType\":\"IPv4\",\"endpoints\":[],\"ports\":[8000]}]}");
        for (String body : malformed) {
            assertThatThrownBy(() -> EndpointSlice.parsePage(JSON.readTree(body))).as(body)
                    .isInstanceOf(IOException.class);
        }
        EndpointSlice nulls = EndpointSlice.parsePage(JSON.readTree(
                LIST + "[{\"addressType\":\"IPv4\",\"endpoints\":null,\"ports\":null}]}")).items().getFirst();
        assertThat(nulls.endpoints()).as("null endpoints").isEmpty();
        assertThat(nulls.ports()).as("null ports").isEmpty();
    }
}
