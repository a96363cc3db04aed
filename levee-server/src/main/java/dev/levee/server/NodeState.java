package dev.levee.server;

/**
 * Whether the node takes new work. Draining turns readiness off first, so load balancers stop
 * sending, while requests already admitted run to the end.
 */
public final class NodeState {
    /** Version reported by the server metadata endpoint. */
    public static final String VERSION = "0.1.0";

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
