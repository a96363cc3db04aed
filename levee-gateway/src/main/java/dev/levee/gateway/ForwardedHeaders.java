package dev.levee.gateway;

import dev.levee.core.NodeLoad;
import io.vertx.core.MultiMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Copies headers between the client's exchange and the node's, leaving out the hop-by-hop headers
 * (those that describe one connection rather than the message, including every header that the
 * Connection header names) and the headers that the sending side computes again.
 */
final class ForwardedHeaders {
    private static final Set<String> HOP_BY_HOP = Set.of(
            "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
            "te", "trailer", "transfer-encoding", "upgrade", "http2-settings",
            // Vert.x sets these from the target and the body it sends.
            "host", "content-length");

    private ForwardedHeaders() {}

    /** Copies a client's request headers onto the request to a node. */
    static void copyRequest(MultiMap from, MultiMap to) {
        copy(from, to, false);
    }

    /** Copies a node's response headers onto the response to the client; the node's load report stays here. */
    static void copyResponse(MultiMap from, MultiMap to) {
        copy(from, to, true);
    }

    private static void copy(MultiMap from, MultiMap to, boolean response) {
        Set<String> named = connectionOptions(from);
        for (Map.Entry<String, String> header : from) {
            String name = header.getKey().toLowerCase(Locale.ROOT);
            if (HOP_BY_HOP.contains(name) || named.contains(name)) {
                continue;
            }
            if (response && name.equals(NodeLoad.HEADER.toLowerCase(Locale.ROOT))) {
                continue;
            }
            // HTTP/2 pseudo-headers such as :path never reach a MultiMap, but guard against them anyway.
            if (name.startsWith(":")) {
                continue;
            }
            to.add(header.getKey(), header.getValue());
        }
    }

    /** Returns the header names that the Connection header lists, which are hop-by-hop too. */
    private static Set<String> connectionOptions(MultiMap headers) {
        Set<String> names = new HashSet<>();
        for (String value : headers.getAll("Connection")) {
            for (String option : value.split(",")) {
                String name = option.trim().toLowerCase(Locale.ROOT);
                if (!name.isEmpty()) {
                    names.add(name);
                }
            }
        }
        return names;
    }
}
