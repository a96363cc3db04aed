package dev.levee.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import dev.levee.core.NodeLoad;
import dev.levee.gateway.RoutingPolicy.Pick;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RoutingPolicyTest {
    private static final ModelKey MODEL = new ModelKey("synthetic", "");
    private static final Duration RAMP_UP = Duration.ofSeconds(4);

    private final ManualClock clock = new ManualClock();

    private Node servingNode(int port, int load) {
        Node node = new Node(new NodeAddress("127.0.0.1", port));
        node.checkPassed(clock.nanoTime());
        node.report(new NodeLoad(load, true));
        return node;
    }

    private RoutingPolicy policy(ScriptedRandom random) {
        return new RoutingPolicy(RAMP_UP, clock, () -> random);
    }

    private static Node chosen(Pick pick) {
        assertThat(pick).isInstanceOf(Pick.Chosen.class);
        return ((Pick.Chosen) pick).node();
    }

    @Test
    void picksLessLoadedOfTheTwoDrawn() {
        Node busy = servingNode(1, 9);
        Node moderate = servingNode(2, 3);
        Node idle = servingNode(3, 0);
        clock.advance(RAMP_UP);
        // Draws index 0, then index 0 of the remaining two, which is node 1: busy against moderate.
        Pick pick = policy(new ScriptedRandom(0, 0)).pick(List.of(busy, moderate, idle), MODEL, Set.of());
        assertThat(chosen(pick)).as("only the two drawn nodes are compared").isSameAs(moderate);

        Pick second = policy(new ScriptedRandom(0, 1)).pick(List.of(busy, moderate, idle), MODEL, Set.of());
        assertThat(chosen(second)).isSameAs(idle);
    }

    @Test
    void attemptsSinceTheReportAddToTheLoad() {
        Node a = servingNode(1, 2);
        Node b = servingNode(2, 3);
        clock.advance(RAMP_UP);
        assertThat(chosen(policy(new ScriptedRandom(0, 0)).pick(List.of(a, b), MODEL, Set.of()))).isSameAs(a);

        long first = a.attemptStarted();
        a.attemptStarted();
        assertThat(a.estimatedLoad()).isEqualTo(4);
        assertThat(chosen(policy(new ScriptedRandom(0, 0)).pick(List.of(a, b), MODEL, Set.of()))).isSameAs(b);

        a.report(new NodeLoad(3, true));
        assertThat(a.estimatedLoad()).as("a report replaces the count").isEqualTo(3);
        a.attemptFinished(first);
        assertThat(a.estimatedLoad()).as("an attempt sent before the report is in the report").isEqualTo(3);
        long third = a.attemptStarted();
        assertThat(a.estimatedLoad()).isEqualTo(4);
        a.attemptFinished(third);
        assertThat(a.estimatedLoad()).isEqualTo(3);
    }

    @Test
    void attemptsInFlightAreTheLeastLoad() {
        Node distant = servingNode(1, 0);
        Node near = servingNode(2, 1);
        clock.advance(RAMP_UP);
        for (int i = 0; i < 3; i++) {
            distant.attemptStarted();
        }
        // Over a slow link the node reports itself idle while three attempts are still on their way to it.
        distant.report(new NodeLoad(0, true));
        assertThat(distant.estimatedLoad()).isEqualTo(3);
        // Costs: distant (3 + 1) / 1 = 4; near (1 + 1) / 1 = 2.
        assertThat(chosen(policy(new ScriptedRandom(0, 0)).pick(List.of(distant, near), MODEL, Set.of())))
                .isSameAs(near);
    }

    @Test
    void nodeThatJustBecameReadyRampsUp() {
        Node established = servingNode(1, 2);
        clock.advance(RAMP_UP);
        Node joined = servingNode(2, 0);
        assertThat(joined.weight(clock.nanoTime(), RAMP_UP)).isEqualTo(Node.RAMP_START_WEIGHT);
        // Costs: established (2 + 1) / 1 = 3; joined (0 + 1) / 0.1 = 10.
        assertThat(chosen(policy(new ScriptedRandom(1, 0)).pick(List.of(established, joined), MODEL, Set.of())))
                .isSameAs(established);

        clock.advance(RAMP_UP.dividedBy(2));
        assertThat(joined.weight(clock.nanoTime(), RAMP_UP)).isCloseTo(0.55, offset(1e-9));
        // Costs: established 3; joined 1 / 0.55, about 1.8.
        assertThat(chosen(policy(new ScriptedRandom(1, 0)).pick(List.of(established, joined), MODEL, Set.of())))
                .isSameAs(joined);

        clock.advance(RAMP_UP);
        assertThat(joined.weight(clock.nanoTime(), RAMP_UP)).isEqualTo(1.0);
    }

    @Test
    void skipsTriedAndNotServingNodes() {
        Node tried = servingNode(1, 0);
        Node ejected = servingNode(2, 0);
        ejected.failed(1);
        Node notReady = servingNode(3, 0);
        notReady.checkNotReady();
        Node left = servingNode(4, 50);
        Pick pick = policy(new ScriptedRandom()).pick(List.of(tried, ejected, notReady, left), MODEL, Set.of(tried));
        assertThat(chosen(pick)).isSameAs(left);

        // With no node serving, a node that reports not ready to its checks, as a draining one does, is used.
        Pick standby = policy(new ScriptedRandom()).pick(List.of(tried, ejected, notReady), MODEL, Set.of(tried));
        assertThat(chosen(standby)).isSameAs(notReady);
        assertThat(chosen(policy(new ScriptedRandom()).pickAny(List.of(ejected, notReady), Set.of()))).isSameAs(notReady);

        Node unreachable = servingNode(5, 0);
        unreachable.checkFailed(3);
        Pick none = policy(new ScriptedRandom()).pick(List.of(tried, ejected, notReady, unreachable), MODEL,
                Set.of(tried, notReady));
        assertThat(none).isInstanceOf(Pick.NoNodeServing.class);
        assertThat(policy(new ScriptedRandom()).pickAny(List.of(ejected, unreachable), Set.of()))
                .isInstanceOf(Pick.NoNodeServing.class);
    }

    @Test
    void prefersNodesKnownToHaveTheModel() {
        Node unknown = servingNode(1, 0);
        Node ready = servingNode(2, 40);
        ready.modelState(MODEL, Node.ModelState.READY);
        Pick pick = policy(new ScriptedRandom()).pick(List.of(unknown, ready), MODEL, Set.of());
        assertThat(chosen(pick)).as("a known ready node beats an idle one that may lack the model").isSameAs(ready);
    }

    @Test
    void reportsWhyNoNodeHasTheModel() {
        Node missing = servingNode(1, 0);
        missing.modelState(MODEL, Node.ModelState.NOT_FOUND);
        Node loading = servingNode(2, 0);
        loading.modelState(MODEL, Node.ModelState.NOT_READY);
        assertThat(policy(new ScriptedRandom()).pick(List.of(missing), MODEL, Set.of()))
                .isInstanceOf(Pick.ModelNotFound.class);
        assertThat(policy(new ScriptedRandom()).pick(List.of(missing, loading), MODEL, Set.of()))
                .isInstanceOf(Pick.ModelNotReady.class);
        Node other = servingNode(3, 0);
        assertThat(chosen(policy(new ScriptedRandom()).pick(List.of(missing, loading, other), MODEL, Set.of())))
                .isSameAs(other);
    }

    @Test
    void pickAnyIgnoresModels() {
        Node missing = servingNode(1, 0);
        missing.modelState(MODEL, Node.ModelState.NOT_FOUND);
        assertThat(chosen(policy(new ScriptedRandom()).pickAny(List.of(missing), Set.of()))).isSameAs(missing);
        assertThat(policy(new ScriptedRandom()).pickAny(List.of(missing), Set.of(missing)))
                .isInstanceOf(Pick.NoNodeServing.class);
    }
}
