package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

/**
 * The host and port of a node's REST port. An IPv6 literal is kept without brackets.
 *
 * @param host a host name or an IP address literal
 * @param port the TCP port, 1 to 65535
 */
public record NodeAddress(String host, int port) {

    public NodeAddress {
        requireNonNull(host, "host");
        if (host.isEmpty()) {
            throw new IllegalArgumentException("host: '' (expected: a host name or an IP address)");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 1 to 65535)");
        }
    }

    /** Parses {@code host:port}, or {@code [ipv6]:port} for an IPv6 literal. */
    public static NodeAddress parse(String text) {
        requireNonNull(text, "text");
        String trimmed = text.trim();
        String host;
        String port;
        if (trimmed.startsWith("[")) {
            int close = trimmed.indexOf(']');
            if (close < 0 || close + 1 >= trimmed.length() || trimmed.charAt(close + 1) != ':') {
                throw invalid(text);
            }
            host = trimmed.substring(1, close);
            port = trimmed.substring(close + 2);
        } else {
            int colon = trimmed.lastIndexOf(':');
            if (colon < 0 || trimmed.indexOf(':') != colon) {
                throw invalid(text);
            }
            host = trimmed.substring(0, colon);
            port = trimmed.substring(colon + 1);
        }
        return new NodeAddress(host, parsePort(text, port));
    }

    static int parsePort(String text, String port) {
        try {
            return Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw invalid(text);
        }
    }

    private static IllegalArgumentException invalid(String text) {
        return new IllegalArgumentException(
                "node address '" + text + "' is invalid (expected: host:port, or [ipv6]:port)");
    }

    /** Returns {@code host:port}, with brackets around an IPv6 literal. */
    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
