package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A Kubernetes Service whose ready endpoints are nodes: the parsed form of a
 * {@code k8s:[NAMESPACE/]SERVICE[:PORT]} node entry.
 *
 * @param namespace the service's namespace
 * @param name the service's name
 * @param port which port of the endpoints the nodes listen on
 */
record KubernetesService(String namespace, String name, ServicePort port) {
    static final String PREFIX = "k8s:";
    /** A namespace name: a DNS label (RFC 1123) of at most 63 characters. */
    private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    /** A service name: a DNS label (RFC 1035) of at most 63 characters, so it starts with a letter. */
    private static final Pattern SERVICE = Pattern.compile("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");

    KubernetesService {
        requireNonNull(namespace, "namespace");
        requireNonNull(name, "name");
        requireNonNull(port, "port");
    }

    /**
     * Parses {@code k8s:[NAMESPACE/]SERVICE[:PORT]}. {@code ownNamespace} is called only when the
     * entry names no namespace.
     */
    static KubernetesService parse(String entry, Supplier<String> ownNamespace) {
        requireNonNull(entry, "entry");
        if (!entry.startsWith(PREFIX)) {
            throw invalid(entry, "it does not start with " + PREFIX);
        }
        String rest = entry.substring(PREFIX.length());
        ServicePort port = new ServicePort.Unspecified();
        int colon = rest.indexOf(':');
        if (colon >= 0) {
            port = ServicePort.parse(rest.substring(colon + 1), entry);
            rest = rest.substring(0, colon);
        }
        String namespace = null;
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            namespace = rest.substring(0, slash);
            rest = rest.substring(slash + 1);
            if (!NAMESPACE.matcher(namespace).matches()) {
                throw invalid(entry, "namespace '" + namespace + "' is not a DNS label of lowercase letters, "
                        + "digits and '-'");
            }
        }
        if (!SERVICE.matcher(rest).matches()) {
            throw invalid(entry, "service name '" + rest + "' is not a DNS label that starts with a lowercase "
                    + "letter and has only lowercase letters, digits and '-'");
        }
        if (namespace == null) {
            namespace = ownNamespace.get();
        }
        return new KubernetesService(namespace, rest, port);
    }

    private static IllegalArgumentException invalid(String entry, String reason) {
        return new IllegalArgumentException("node entry '" + entry + "' is invalid, because " + reason
                + " (expected: k8s:[NAMESPACE/]SERVICE[:PORT])");
    }

    /**
     * Returns the address and port of every endpoint in {@code slices} that is ready and not
     * terminating, each address of an endpoint once. Slices of address type FQDN are skipped: the
     * API leaves their meaning undefined, and the EndpointSlice controller does not create them.
     *
     * @throws IOException when a slice with such endpoints has no port this entry can use, or an
     *     address that is not of the slice's address type
     */
    List<NodeAddress> addresses(List<EndpointSlice> slices) throws IOException {
        Set<NodeAddress> nodes = new LinkedHashSet<>();
        for (EndpointSlice slice : slices) {
            boolean ipv4 = slice.addressType().equals("IPv4");
            if (!ipv4 && !slice.addressType().equals("IPv6")) {
                continue;
            }
            List<EndpointSlice.Endpoint> serving = slice.endpoints().stream()
                    .filter(endpoint -> endpoint.ready() && !endpoint.terminating())
                    .toList();
            if (serving.isEmpty()) {
                continue;
            }
            int portNumber = portOf(slice);
            for (EndpointSlice.Endpoint endpoint : serving) {
                for (String address : endpoint.addresses()) {
                    checkAddress(slice, address, ipv4);
                    nodes.add(new NodeAddress(address, portNumber));
                }
            }
        }
        return List.copyOf(nodes);
    }

    private int portOf(EndpointSlice slice) throws IOException {
        return switch (port) {
            case ServicePort.Numbered numbered -> numbered.number();
            case ServicePort.Named named -> slice.port(named.name())
                    .orElseThrow(() -> new IOException("EndpointSlice " + slice.name() + " of service "
                            + qualifiedName() + " has no port named '" + named.name() + "' (its ports: "
                            + portNames(slice) + ")"))
                    .number();
            case ServicePort.Unspecified unspecified -> defaultPort(slice);
        };
    }

    private int defaultPort(EndpointSlice slice) throws IOException {
        var http = slice.port(ServicePort.DEFAULT_NAME);
        if (http.isPresent()) {
            return http.get().number();
        }
        if (slice.ports().size() == 1) {
            return slice.ports().getFirst().number();
        }
        if (slice.ports().isEmpty()) {
            throw new IOException("EndpointSlice " + slice.name() + " of service " + qualifiedName()
                    + " lists no TCP port: give the port number in the entry, " + PREFIX + qualifiedName() + ":PORT");
        }
        throw new IOException("EndpointSlice " + slice.name() + " of service " + qualifiedName() + " has ports "
                + portNames(slice) + " and none is named '" + ServicePort.DEFAULT_NAME + "': name the port in the "
                + "entry, " + PREFIX + qualifiedName() + ":PORT");
    }

    private static String portNames(EndpointSlice slice) {
        return slice.ports().stream()
                .map(port -> (port.name().isEmpty() ? "(unnamed)" : port.name()) + " " + port.number())
                .collect(Collectors.joining(", "));
    }

    private static void checkAddress(EndpointSlice slice, String address, boolean ipv4) throws IOException {
        try {
            if (ipv4) {
                Inet4Address.ofLiteral(address);
            } else {
                Inet6Address.ofLiteral(address);
            }
        } catch (IllegalArgumentException e) {
            throw new IOException("EndpointSlice " + slice.name() + " has address '" + address + "', which is not "
                    + "an " + slice.addressType() + " address");
        }
    }

    /** Returns {@code NAMESPACE/SERVICE}. */
    String qualifiedName() {
        return namespace + "/" + name;
    }

    /** Returns the entry in its canonical form, {@code k8s:NAMESPACE/SERVICE[:PORT]}. */
    @Override
    public String toString() {
        String portText = port.toString();
        return PREFIX + qualifiedName() + (portText.isEmpty() ? "" : ":" + portText);
    }
}
