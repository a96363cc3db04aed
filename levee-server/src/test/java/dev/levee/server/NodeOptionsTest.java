package dev.levee.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NodeOptionsTest {

    @Test
    void defaultsOpenNoGrpcPort() {
        assertThat(NodeOptions.defaults().grpcPort()).isEqualTo(NodeOptions.NO_GRPC_PORT);
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, 0, 8001, 65535})
    void grpcPortAcceptsNoneFreeOrValidPort(int grpcPort) {
        assertThat(NodeOptions.defaults().withGrpcPort(grpcPort).grpcPort()).isEqualTo(grpcPort);
    }

    @ParameterizedTest
    @ValueSource(ints = {-2, 65536})
    void grpcPortOutOfRangeIsRejected(int grpcPort) {
        assertThatThrownBy(() -> NodeOptions.defaults().withGrpcPort(grpcPort))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("grpcPort: " + grpcPort + " (expected: -1 for none, or 0 to 65535)");
    }

    @Test
    void grpcPortEqualToRestPortIsRejected() {
        assertThatThrownBy(() -> NodeOptions.defaults().withPort(9000).withGrpcPort(9000))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("a port other than the REST port");
    }
}
