package dev.levee.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.levee.core.NodeLoad;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The gateway's view of one node's health: readiness checks, ejection and return. */
class NodeHealthTest {
    private static final int EJECT_AFTER = 3;

    private final Node node = new Node(new NodeAddress("127.0.0.1", 9000));

    @Test
    void newNodeServesAfterFirstCheck() {
        assertThat(node.serving()).isFalse();
        assertThat(node.checkPassed(5)).as("the node starts serving").isTrue();
        assertThat(node.serving()).isTrue();
        assertThat(node.checkPassed(6)).as("a second pass changes nothing").isFalse();
    }

    @Test
    void ejectedAfterConsecutiveFailures() {
        node.checkPassed(0);
        assertThat(node.failed(EJECT_AFTER)).isFalse();
        assertThat(node.failed(EJECT_AFTER)).isFalse();
        assertThat(node.serving()).as("still serving after two failures").isTrue();
        assertThat(node.failed(EJECT_AFTER)).as("the third failure ejects").isTrue();
        assertThat(node.serving()).isFalse();
        assertThat(node.ejected()).isTrue();
        assertThat(node.ejections()).isEqualTo(1);
        assertThat(node.failed(EJECT_AFTER)).as("an ejected node is not ejected twice").isFalse();
        assertThat(node.ejections()).isEqualTo(1);
    }

    @Test
    void answerResetsTheFailureCount() {
        node.checkPassed(0);
        node.failed(EJECT_AFTER);
        node.failed(EJECT_AFTER);
        node.responded();
        assertThat(node.failed(EJECT_AFTER)).isFalse();
        assertThat(node.failed(EJECT_AFTER)).isFalse();
        assertThat(node.serving()).isTrue();
    }

    @Test
    void passingCheckReturnsEjectedNode() {
        node.checkPassed(0);
        node.modelState(new ModelKey("m", ""), Node.ModelState.READY);
        for (int i = 0; i < EJECT_AFTER; i++) {
            node.failed(EJECT_AFTER);
        }
        assertThat(node.startCheck()).isTrue();
        assertThat(node.startCheck()).as("one check in flight at a time").isFalse();
        assertThat(node.checkPassed(1_000)).isTrue();
        assertThat(node.serving()).isTrue();
        assertThat(node.ejected()).isFalse();
        assertThat(node.weight(1_000, Duration.ofNanos(1_000))).isEqualTo(Node.RAMP_START_WEIGHT);
        assertThat(node.modelState(new ModelKey("m", ""))).as("models are learnt again")
                .isEqualTo(Node.ModelState.UNKNOWN);
    }

    @Test
    void failedCheckTakesNodeOutAtOnce() {
        node.checkPassed(0);
        node.startCheck();
        assertThat(node.checkFailed(EJECT_AFTER)).as("it was ready").isTrue();
        assertThat(node.serving()).isFalse();
        assertThat(node.ejected()).as("one failure does not eject").isFalse();
    }

    @Test
    void notReadyReportTakesNodeOut() {
        node.checkPassed(0);
        assertThat(node.report(new NodeLoad(4, false))).as("this report took the node out").isTrue();
        assertThat(node.serving()).isFalse();
        assertThat(node.report(new NodeLoad(3, false))).as("it was out already").isFalse();
        assertThat(node.estimatedLoad()).isEqualTo(3);
        assertThat(node.checkPassed(10)).as("a later passing check brings it back").isTrue();
    }
}
