package dev.levee.server;

import dev.levee.core.NodeLoad;
import java.util.List;

/**
 * Whether the node is ready and whether it admits new work. A drain turns readiness off first, so
 * load balancers and the gateway stop sending, and only later rejects new work; requests already
 * admitted run to the end.
 */
public final class NodeState {
    /** Version reported by the server metadata endpoint. */
    public static final String VERSION = "0.1.0";
    /** Protocol extensions reported by the server metadata endpoints, with the names Triton uses. */
    public static final List<String> EXTENSIONS =
            List.of("binary_tensor_data", "model_repository", "model_configuration", "statistics");

    private volatile boolean notReady;
    private volatile boolean rejecting;

    public boolean ready() {
        return !notReady;
    }

    public boolean accepting() {
        return !rejecting;
    }

    /**
     * Turns readiness off while new requests are still admitted: the first phase of a drain, for
     * load balancers that keep sending until their next readiness check.
     */
    public void markNotReady() {
        notReady = true;
    }

    /** Turns readiness off and rejects new requests with UNAVAILABLE. */
    public void drain() {
        notReady = true;
        rejecting = true;
    }

    /**
     * Returns whether the node reports ready: not draining, at least one model READY, and every
     * model it is configured to serve READY.
     */
    public boolean ready(ModelRegistry registry) {
        return ready() && registry.ready();
    }

    /** Returns the load report that responses carry in the {@link NodeLoad#HEADER} header. */
    public NodeLoad load(ModelRegistry registry) {
        return new NodeLoad(registry.pendingRequests(), ready(registry));
    }
}
