package dev.levee.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.levee.core.NodeLoad;
import io.vertx.core.MultiMap;
import java.util.List;
import org.junit.jupiter.api.Test;

class ForwardedHeadersTest {

    @Test
    void hopByHopHeadersStayBehind() {
        MultiMap client = MultiMap.caseInsensitiveMultiMap()
                .add("Content-Type", "application/json")
                .add("Levee-Priority", "low")
                .add("Connection", "keep-alive, X-Hop")
                .add("X-Hop", "1")
                .add("Keep-Alive", "timeout=5")
                .add("Transfer-Encoding", "chunked")
                .add("Host", "gateway:8000")
                .add("Content-Length", "12")
                .add("Accept", "a")
                .add("Accept", "b");
        MultiMap node = MultiMap.caseInsensitiveMultiMap();
        ForwardedHeaders.copyRequest(client, node);
        assertThat(node.names()).containsExactlyInAnyOrder("Content-Type", "Levee-Priority", "Accept");
        assertThat(node.getAll("Accept")).isEqualTo(List.of("a", "b"));
    }

    @Test
    void loadReportStaysInTheGateway() {
        MultiMap fromNode = MultiMap.caseInsensitiveMultiMap()
                .add("Content-Type", "application/json")
                .add("Retry-After", "2")
                .add(NodeLoad.HEADER, "7");
        MultiMap toClient = MultiMap.caseInsensitiveMultiMap();
        ForwardedHeaders.copyResponse(fromNode, toClient);
        assertThat(toClient.names()).containsExactlyInAnyOrder("Content-Type", "Retry-After");
    }

    @Test
    void modelKeyComesFromModelEndpointsOnly() {
        assertThat(GatewayApi.modelKey(List.of("v2", "models", "m"))).isEqualTo(new ModelKey("m", ""));
        assertThat(GatewayApi.modelKey(List.of("v2", "models", "m", "infer"))).isEqualTo(new ModelKey("m", ""));
        assertThat(GatewayApi.modelKey(List.of("v2", "models", "m", "versions", "2", "ready")))
                .isEqualTo(new ModelKey("m", "2"));
        assertThat(GatewayApi.modelKey(List.of("v2", "models", "m", "load"))).isSameAs(ModelKey.NONE);
        assertThat(GatewayApi.modelKey(List.of("v2", "models", "m", "infer", "x"))).isSameAs(ModelKey.NONE);
    }
}
