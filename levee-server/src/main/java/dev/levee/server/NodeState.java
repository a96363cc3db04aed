package dev.levee.server;

import java.util.List;

/**
 * Whether the node takes new work. Draining turns readiness off first, so load balancers stop
 * sending, while requests already admitted run to the end.
 */
public final class NodeState {
    /** Version reported by the server metadata endpoint. */
    public static final String VERSION = "0.1.0";
    /** Protocol extensions reported by the server metadata endpoints, with the names Triton uses. */
    public static final List<String> EXTENSIONS = List.of("binary_tensor_data", "model_repository");

    private volatile boolean draining;

    public boolean ready() {
        return !draining;
    }

    public boolean accepting() {
        return !draining;
    }

    public void drain() {
        draining = true;
    }
}
