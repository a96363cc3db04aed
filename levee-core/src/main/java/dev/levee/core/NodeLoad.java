package dev.levee.core;

import java.util.Optional;

/**
 * A node's load report: the requests it has queued or running over all its models, and whether it
 * is ready for new work. A node sends it with every REST response, and with every ModelInfer
 * response as gRPC response metadata, in the {@link #HEADER} header; the gateway routes on it.
 *
 * <p>The header value is the request count, followed by {@code ;ready=false} when the node is not
 * ready, for example {@code 12} or {@code 3;ready=false}.
 *
 * @param requests requests queued or running on the node, at least 0
 * @param ready whether the node's readiness check passes, which is false while it drains
 */
public record NodeLoad(int requests, boolean ready) {
    /** Name of the HTTP header, and of the gRPC metadata key in lower case. */
    public static final String HEADER = "Levee-Load";
    private static final String NOT_READY = ";ready=false";

    public NodeLoad {
        if (requests < 0) {
            throw new IllegalArgumentException("requests: " + requests + " (expected: >= 0)");
        }
    }

    public String headerValue() {
        return ready ? Integer.toString(requests) : requests + NOT_READY;
    }

    /**
     * Parses a header value. Parameters other than {@code ready} are ignored, so a later node may
     * add some; a value without a valid request count yields empty.
     */
    public static Optional<NodeLoad> parse(String value) {
        if (value == null) {
            return Optional.empty();
        }
        String[] parts = value.split(";");
        int requests;
        try {
            requests = Integer.parseInt(parts[0].trim());
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
        if (requests < 0) {
            return Optional.empty();
        }
        boolean ready = true;
        for (int i = 1; i < parts.length; i++) {
            String parameter = parts[i].trim();
            if (parameter.equalsIgnoreCase("ready=false")) {
                ready = false;
            }
        }
        return Optional.of(new NodeLoad(requests, ready));
    }
}
