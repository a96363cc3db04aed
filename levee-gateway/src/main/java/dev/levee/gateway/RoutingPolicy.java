package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import dev.levee.core.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * Picks the node for an attempt. A node is a candidate when it is serving (ready, not ejected), was
 * not tried yet for this request, and has the request's model ready, or not known either way when
 * no node is known to have it ready. Among the candidates, power of two random choices: two
 * distinct candidates drawn uniformly, and the one with the lower {@link Node#cost} wins. This
 * avoids both the herding of always picking the least loaded node on stale reports and the
 * imbalance of a purely random pick.
 */
final class RoutingPolicy {
    private final Duration rampUp;
    private final Clock clock;
    private final Supplier<RandomGenerator> random;

    /**
     * @param rampUp time over which a node that became ready grows from a small weight to full
     * @param clock the gateway's clock, also used for the nodes' ramp-up start
     * @param random the random source of the calling thread
     */
    RoutingPolicy(Duration rampUp, Clock clock, Supplier<RandomGenerator> random) {
        this.rampUp = requireNonNull(rampUp, "rampUp");
        this.clock = requireNonNull(clock, "clock");
        this.random = requireNonNull(random, "random");
    }

    /** The outcome of a pick: a node, or the reason why there is none. */
    sealed interface Pick {
        record Chosen(Node node) implements Pick {}

        /** No node that was not tried yet is serving. */
        record NoNodeServing() implements Pick {}

        /** Every serving node that was not tried responded 404 for the model. */
        record ModelNotFound() implements Pick {}

        /** The model is loading or unloading on every serving node that has it. */
        record ModelNotReady() implements Pick {}
    }

    /**
     * Picks a node for a request to {@code key}, skipping the nodes in {@code tried}. When no node
     * is serving, a node on {@link Node#standby() standby} is picked the same way, so that a drain
     * of the only node, or of every node at once, still uses the nodes while they admit requests.
     */
    Pick pick(Collection<Node> nodes, ModelKey key, Set<Node> tried) {
        Pick pick = pickAmong(nodes, key, tried, Node::serving);
        if (pick instanceof Pick.NoNodeServing) {
            Pick standby = pickAmong(nodes, key, tried, Node::standby);
            if (standby instanceof Pick.Chosen) {
                return standby;
            }
        }
        return pick;
    }

    private Pick pickAmong(Collection<Node> nodes, ModelKey key, Set<Node> tried, Predicate<Node> usable) {
        List<Node> ready = new ArrayList<>();
        List<Node> unknown = new ArrayList<>();
        boolean anyServing = false;
        boolean anyNotReady = false;
        for (Node node : nodes) {
            if (tried.contains(node) || !usable.test(node)) {
                continue;
            }
            anyServing = true;
            switch (node.modelState(key)) {
                case READY -> ready.add(node);
                case UNKNOWN -> unknown.add(node);
                case NOT_READY -> anyNotReady = true;
                case NOT_FOUND -> { }
            }
        }
        List<Node> candidates = ready.isEmpty() ? unknown : ready;
        if (!candidates.isEmpty()) {
            return new Pick.Chosen(choose(candidates));
        }
        if (!anyServing) {
            return new Pick.NoNodeServing();
        }
        return anyNotReady ? new Pick.ModelNotReady() : new Pick.ModelNotFound();
    }

    /** Picks any serving node not in {@code tried}, or a node on standby when none is serving. */
    Pick pickAny(Collection<Node> nodes, Set<Node> tried) {
        Pick pick = pickAnyAmong(nodes, tried, Node::serving);
        return pick instanceof Pick.NoNodeServing ? pickAnyAmong(nodes, tried, Node::standby) : pick;
    }

    private Pick pickAnyAmong(Collection<Node> nodes, Set<Node> tried, Predicate<Node> usable) {
        List<Node> candidates = new ArrayList<>();
        for (Node node : nodes) {
            if (!tried.contains(node) && usable.test(node)) {
                candidates.add(node);
            }
        }
        return candidates.isEmpty() ? new Pick.NoNodeServing() : new Pick.Chosen(choose(candidates));
    }

    private Node choose(List<Node> candidates) {
        if (candidates.size() == 1) {
            return candidates.getFirst();
        }
        RandomGenerator generator = random.get();
        int first = generator.nextInt(candidates.size());
        int second = generator.nextInt(candidates.size() - 1);
        if (second >= first) {
            second++;
        }
        Node a = candidates.get(first);
        Node b = candidates.get(second);
        long now = clock.nanoTime();
        return a.cost(now, rampUp) <= b.cost(now, rampUp) ? a : b;
    }
}
