package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Where the gateway learns its nodes. The gateway calls {@link #resolve()} on a worker thread at
 * start and then periodically, and adds or removes nodes to match the result.
 */
@FunctionalInterface
public interface NodeSource {
    /** Port of a DNS name given without one, the port that {@code levee serve} listens on by default. */
    int DEFAULT_PORT = 8000;

    /** Returns the nodes now; throws when they cannot be learnt, and the gateway keeps its current set. */
    List<NodeAddress> resolve() throws IOException;

    /** Returns whether the result can change, so the gateway should resolve again periodically. */
    default boolean dynamic() {
        return true;
    }

    /**
     * Parses a node list as {@link #parse(String, HostResolver, Supplier)} does, reaching the
     * Kubernetes API, if an entry needs it, with the settings of the pod the gateway runs in.
     */
    static NodeSource parse(String spec, HostResolver resolver) {
        return parse(spec, resolver, () -> KubernetesConfig.inCluster(System.getenv()));
    }

    /**
     * Parses a comma-separated list whose entries are {@code host:port}, {@code [ipv6]:port},
     * {@code dns:NAME[:PORT]} or {@code k8s:[NAMESPACE/]SERVICE[:PORT]}. A DNS entry stands for every
     * address the name resolves to, each on the same port. A Kubernetes entry means the ready
     * endpoints of the service's EndpointSlices; see {@link KubernetesService}. Both are resolved
     * again on every {@link #resolve()}. {@code kubernetes} is called only when a Kubernetes entry
     * is present.
     *
     * @throws IllegalArgumentException when an entry is invalid, or the Kubernetes settings cannot be used
     */
    static NodeSource parse(String spec, HostResolver resolver, Supplier<KubernetesConfig> kubernetes) {
        requireNonNull(spec, "spec");
        requireNonNull(resolver, "resolver");
        requireNonNull(kubernetes, "kubernetes");
        List<NodeAddress> fixed = new ArrayList<>();
        List<NodeAddress> names = new ArrayList<>();
        List<String> serviceEntries = new ArrayList<>();
        for (String entry : spec.split(",")) {
            String trimmed = entry.trim();
            if (trimmed.isEmpty()) {
                continue;
            }
            if (trimmed.startsWith("dns:")) {
                names.add(parseDnsName(trimmed));
            } else if (trimmed.startsWith(KubernetesService.PREFIX)) {
                serviceEntries.add(trimmed);
            } else {
                try {
                    fixed.add(NodeAddress.parse(trimmed));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(e.getMessage()
                            + "; a name to resolve is written dns:NAME[:PORT] or k8s:[NAMESPACE/]SERVICE[:PORT]", e);
                }
            }
        }
        if (fixed.isEmpty() && names.isEmpty() && serviceEntries.isEmpty()) {
            throw new IllegalArgumentException("node list '" + spec + "' names no node (expected: host:port, "
                    + "dns:NAME[:PORT] or k8s:[NAMESPACE/]SERVICE[:PORT], separated by commas)");
        }
        List<NodeSource> services = serviceEntries.isEmpty() ? List.of() : parseServices(serviceEntries, kubernetes);
        return new Parsed(List.copyOf(fixed), List.copyOf(names), resolver, services);
    }

    private static List<NodeSource> parseServices(List<String> entries, Supplier<KubernetesConfig> kubernetes) {
        KubernetesConfig config = kubernetes.get();
        List<KubernetesService> services = new ArrayList<>();
        for (String entry : entries) {
            services.add(KubernetesService.parse(entry, config::ownNamespace));
        }
        KubernetesApi api;
        try {
            api = KubernetesApi.connect(config);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot use the Kubernetes API at " + config.apiServer() + ": "
                    + e.getMessage(), e);
        }
        return services.stream().<NodeSource>map(service -> new ServiceEndpoints(service, api)).toList();
    }

    private static NodeAddress parseDnsName(String entry) {
        String rest = entry.substring("dns:".length());
        int colon = rest.indexOf(':');
        if (colon < 0) {
            return new NodeAddress(rest, DEFAULT_PORT);
        }
        return new NodeAddress(rest.substring(0, colon), NodeAddress.parsePort(entry, rest.substring(colon + 1)));
    }

    /**
     * Fixed addresses, DNS names (each held as a {@link NodeAddress} of name and port) and the
     * sources of Kubernetes entries.
     */
    record Parsed(List<NodeAddress> fixed, List<NodeAddress> names, HostResolver resolver, List<NodeSource> services)
            implements NodeSource {
        @Override
        public List<NodeAddress> resolve() throws IOException {
            Set<NodeAddress> nodes = new LinkedHashSet<>(fixed);
            for (NodeAddress name : names) {
                for (InetAddress address : resolver.resolve(name.host())) {
                    nodes.add(new NodeAddress(address.getHostAddress(), name.port()));
                }
            }
            for (NodeSource service : services) {
                nodes.addAll(service.resolve());
            }
            return List.copyOf(nodes);
        }

        @Override
        public boolean dynamic() {
            return !names.isEmpty() || !services.isEmpty();
        }
    }
}
