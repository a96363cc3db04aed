package dev.levee.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class NodeLoadTest {

    @Test
    void headerValueRoundTrips() {
        assertThat(new NodeLoad(12, true).headerValue()).isEqualTo("12");
        assertThat(new NodeLoad(3, false).headerValue()).isEqualTo("3;ready=false");
        assertThat(NodeLoad.parse("12")).contains(new NodeLoad(12, true));
        assertThat(NodeLoad.parse("3;ready=false")).contains(new NodeLoad(3, false));
    }

    @Test
    void parseToleratesSpacesAndUnknownParameters() {
        assertThat(NodeLoad.parse(" 7 ; zone=a ; ready=false")).contains(new NodeLoad(7, false));
        assertThat(NodeLoad.parse("7;ready=true")).contains(new NodeLoad(7, true));
    }

    @Test
    void parseRejectsMissingOrInvalidCounts() {
        assertThat(NodeLoad.parse(null)).isEqualTo(Optional.empty());
        assertThat(NodeLoad.parse("")).isEmpty();
        assertThat(NodeLoad.parse("busy")).isEmpty();
        assertThat(NodeLoad.parse("-1")).isEmpty();
        assertThat(NodeLoad.parse("99999999999")).isEmpty();
    }

    @Test
    void negativeCountIsRejected() {
        assertThatThrownBy(() -> new NodeLoad(-1, true)).hasMessageContaining("requests: -1");
    }
}
