package dev.levee.gateway;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The nodes the gateway routes to. Readers on every event loop take {@link #nodes()}, an immutable
 * list replaced as a whole on each change, so routing takes no lock.
 */
final class NodeTable {
    /** Guarded by {@code this}. */
    private final Map<NodeAddress, Node> byAddress = new LinkedHashMap<>();
    private volatile List<Node> nodes = List.of();

    /** The nodes added and removed by one {@link #update}. */
    record Change(List<Node> added, List<Node> removed) {
        boolean isEmpty() {
            return added.isEmpty() && removed.isEmpty();
        }
    }

    List<Node> nodes() {
        return nodes;
    }

    /** Returns whether some node is ready and not ejected. */
    boolean anyServing() {
        for (Node node : nodes) {
            if (node.serving()) {
                return true;
            }
        }
        return false;
    }

    /** Makes the table hold exactly {@code addresses}, keeping the state of the nodes it already had. */
    synchronized Change update(Collection<NodeAddress> addresses) {
        Set<NodeAddress> wanted = new LinkedHashSet<>(addresses);
        List<Node> removed = new ArrayList<>();
        byAddress.entrySet().removeIf(entry -> {
            if (wanted.contains(entry.getKey())) {
                return false;
            }
            removed.add(entry.getValue());
            return true;
        });
        List<Node> added = new ArrayList<>();
        for (NodeAddress address : wanted) {
            if (!byAddress.containsKey(address)) {
                Node node = new Node(address);
                byAddress.put(address, node);
                added.add(node);
            }
        }
        nodes = List.copyOf(byAddress.values());
        return new Change(added, removed);
    }
}
