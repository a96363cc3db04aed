package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Where the gateway learns its nodes. The gateway calls {@link #resolve()} on a worker thread at
 * start and then periodically, and adds or removes nodes to match the result.
 */
@FunctionalInterface
public interface NodeSource {
    /** Port of a DNS name given without one, the port that {@code levee serve} listens on by default. */
    int DEFAULT_PORT = 8000;

    /** Returns the nodes now; throws when they cannot be learnt, and the gateway keeps its current set. */
    List<NodeAddress> resolve() throws UnknownHostException;

    /** Returns whether the result can change, so the gateway should resolve again periodically. */
    default boolean dynamic() {
        return true;
    }

    /**
     * Parses a comma-separated list whose entries are {@code host:port}, {@code [ipv6]:port} or
     * {@code dns:NAME[:PORT]}. A DNS entry stands for every address the name resolves to, each on
     * the same port, and is resolved again on every {@link #resolve()}.
     */
    static NodeSource parse(String spec, HostResolver resolver) {
        requireNonNull(spec, "spec");
        requireNonNull(resolver, "resolver");
        List<NodeAddress> fixed = new ArrayList<>();
        List<NodeAddress> names = new ArrayList<>();
        for (String entry : spec.split(",")) {
            String trimmed = entry.trim();
            if (trimmed.isEmpty()) {
                continue;
            }
            if (trimmed.startsWith("dns:")) {
                names.add(parseDnsName(trimmed));
            } else {
                fixed.add(NodeAddress.parse(trimmed));
            }
        }
        if (fixed.isEmpty() && names.isEmpty()) {
            throw new IllegalArgumentException("node list '" + spec
                    + "' names no node (expected: host:port or dns:NAME[:PORT], separated by commas)");
        }
        return new Parsed(List.copyOf(fixed), List.copyOf(names), resolver);
    }

    private static NodeAddress parseDnsName(String entry) {
        String rest = entry.substring("dns:".length());
        int colon = rest.indexOf(':');
        if (colon < 0) {
            return new NodeAddress(rest, DEFAULT_PORT);
        }
        return new NodeAddress(rest.substring(0, colon), NodeAddress.parsePort(entry, rest.substring(colon + 1)));
    }

    /** Fixed addresses plus DNS names, each name held as a {@link NodeAddress} of name and port. */
    record Parsed(List<NodeAddress> fixed, List<NodeAddress> names, HostResolver resolver) implements NodeSource {
        @Override
        public List<NodeAddress> resolve() throws UnknownHostException {
            Set<NodeAddress> nodes = new LinkedHashSet<>(fixed);
            for (NodeAddress name : names) {
                for (InetAddress address : resolver.resolve(name.host())) {
                    nodes.add(new NodeAddress(address.getHostAddress(), name.port()));
                }
            }
            return List.copyOf(nodes);
        }

        @Override
        public boolean dynamic() {
            return !names.isEmpty();
        }
    }
}
