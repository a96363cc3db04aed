package dev.levee.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class NodeSourceTest {

    private static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new AssertionError(literal + " is not an IP literal", e);
        }
    }

    @Test
    void addressesParseWithIpv6Brackets() {
        assertThat(NodeAddress.parse("127.0.0.1:8000")).isEqualTo(new NodeAddress("127.0.0.1", 8000));
        assertThat(NodeAddress.parse(" node-1.example:9 ")).isEqualTo(new NodeAddress("node-1.example", 9));
        NodeAddress ipv6 = NodeAddress.parse("[::1]:8001");
        assertThat(ipv6).isEqualTo(new NodeAddress("::1", 8001));
        assertThat(ipv6.toString()).isEqualTo("[::1]:8001");
    }

    @Test
    void invalidAddressesAreRejected() {
        for (String bad : List.of("127.0.0.1", "::1:8000", "[::1]8000", "host:port", "host:0", "host:70000", ":80")) {
            assertThatThrownBy(() -> NodeAddress.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void staticListIsFixed() throws Exception {
        NodeSource source = NodeSource.parse("127.0.0.1:8001, [::1]:8002,", name -> {
            throw new AssertionError("a static list resolves nothing");
        });
        assertThat(source.resolve()).containsExactly(
                new NodeAddress("127.0.0.1", 8001), new NodeAddress("::1", 8002));
        assertThat(source.dynamic()).isFalse();
    }

    @Test
    void dnsNameStandsForAllItsAddresses() throws Exception {
        AtomicReference<List<InetAddress>> answer = new AtomicReference<>(List.of(ip("127.0.0.1")));
        Map<String, AtomicReference<List<InetAddress>>> zone = Map.of("nodes.levee", answer);
        NodeSource source = NodeSource.parse("dns:nodes.levee:9100", name -> {
            AtomicReference<List<InetAddress>> entry = zone.get(name);
            if (entry == null) {
                throw new UnknownHostException(name);
            }
            return entry.get();
        });
        assertThat(source.dynamic()).isTrue();
        assertThat(source.resolve()).containsExactly(new NodeAddress("127.0.0.1", 9100));

        answer.set(List.of(ip("127.0.0.1"), ip("::1")));
        assertThat(source.resolve()).containsExactly(
                new NodeAddress("127.0.0.1", 9100), new NodeAddress("0:0:0:0:0:0:0:1", 9100));
    }

    @Test
    void dnsNameWithoutPortUsesTheNodeDefault() throws Exception {
        NodeSource source = NodeSource.parse("dns:nodes.levee", name -> List.of(ip("127.0.0.1")));
        assertThat(source.resolve()).containsExactly(new NodeAddress("127.0.0.1", NodeSource.DEFAULT_PORT));
    }

    @Test
    void emptyListIsRejected() {
        assertThatThrownBy(() -> NodeSource.parse(" , ", HostResolver.SYSTEM))
                .hasMessageContaining("names no node");
        assertThatThrownBy(() -> NodeSource.parse("dns:", HostResolver.SYSTEM))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
