package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import dev.levee.core.NodeLoad;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * One node as the gateway tracks it: readiness, ejection, load and which models are ready there.
 *
 * <p>Every method is synchronized on the node. Request handlers on every event loop, health checks
 * and discovery all update it, and each update is a few field writes, so one monitor per node is
 * cheap and keeps each state change whole.
 */
final class Node {
    /** The gateway's view of one model on this node. */
    enum ModelState { UNKNOWN, READY, NOT_READY, NOT_FOUND }

    /** Weight of a node that has just become ready; it grows linearly to 1 over the ramp-up time. */
    static final double RAMP_START_WEIGHT = 0.1;
    private static final int MAX_MODEL_STATES = 1024;

    private final NodeAddress address;

    /** Whether the last readiness check passed and no later load report reported the node not ready. */
    private boolean ready;
    /** Whether the latest readiness check got a response, ready or not. */
    private boolean answering;
    /** Set after too many consecutive failures; cleared only by a readiness check that passes. */
    private boolean ejected;
    private int consecutiveFailures;
    private long ejections;
    /** When the node last became ready, on the gateway's clock; the start of its ramp-up. */
    private long readySinceNanos;
    /** Whether a readiness check is in flight, so that a slow node gets one at a time. */
    private boolean checking;

    /** Requests queued or running on the node, from its latest load report. */
    private int reportedLoad;
    /** Number of load reports so far, which tells whether an attempt started before the latest one. */
    private long reportEpoch;
    /** The gateway's attempts to this node in flight that started after the latest load report. */
    private int inFlightSinceReport;
    /** All of the gateway's attempts to this node in flight. */
    private int inFlight;

    private final Map<ModelKey, ModelState> models = new HashMap<>();

    Node(NodeAddress address) {
        this.address = requireNonNull(address, "address");
    }

    NodeAddress address() {
        return address;
    }

    /** Returns whether requests may be routed here: ready and not ejected. */
    synchronized boolean serving() {
        return ready && !ejected;
    }

    synchronized boolean ready() {
        return ready;
    }

    /**
     * Returns whether the node may take requests while no node is serving. It is not ready, but it
     * responds to its readiness checks, as a draining node does while it still admits requests, and
     * it is not ejected.
     */
    synchronized boolean standby() {
        return !ready && answering && !ejected;
    }

    synchronized boolean ejected() {
        return ejected;
    }

    synchronized long ejections() {
        return ejections;
    }

    synchronized int inFlight() {
        return inFlight;
    }

    /**
     * Returns the node's load as the gateway estimates it: the latest report plus attempts sent
     * since, or this gateway's attempts in flight when those are more. Over a slow link, attempts
     * still on their way to the node, or whose responses are on their way back, are missing from
     * its report.
     */
    synchronized int estimatedLoad() {
        return Math.max(reportedLoad + inFlightSinceReport, inFlight);
    }

    /**
     * Returns the routing weight: {@link #RAMP_START_WEIGHT} when the node has just become ready,
     * growing linearly to 1 over {@code rampUp}, so a node that joins or comes back is not flooded
     * while its connections, JIT and caches are cold.
     */
    synchronized double weight(long nowNanos, Duration rampUp) {
        long rampNanos = rampUp.toNanos();
        long elapsed = nowNanos - readySinceNanos;
        if (rampNanos <= 0 || elapsed >= rampNanos) {
            return 1.0;
        }
        double fraction = Math.max(0, elapsed) / (double) rampNanos;
        return RAMP_START_WEIGHT + (1.0 - RAMP_START_WEIGHT) * fraction;
    }

    /**
     * Returns the cost that power of two choices compares: the estimated load plus one (the request
     * being routed), divided by the weight. A ramping node therefore takes a share of requests that
     * grows with its weight.
     */
    synchronized double cost(long nowNanos, Duration rampUp) {
        return (estimatedLoad() + 1) / weight(nowNanos, rampUp);
    }

    /** Counts an attempt sent to the node; returns the token to pass to {@link #attemptFinished}. */
    synchronized long attemptStarted() {
        inFlight++;
        inFlightSinceReport++;
        return reportEpoch;
    }

    synchronized void attemptFinished(long token) {
        inFlight--;
        // An attempt that started before the latest report is part of that report's count, not of ours.
        if (token == reportEpoch && inFlightSinceReport > 0) {
            inFlightSinceReport--;
        }
    }

    /**
     * Takes a load report from a response. A report of not ready takes the node out of routing;
     * returns true when this report did so.
     */
    synchronized boolean report(NodeLoad load) {
        reportedLoad = load.requests();
        reportEpoch++;
        inFlightSinceReport = 0;
        if (!load.ready() && ready) {
            ready = false;
            return true;
        }
        return false;
    }

    /** Records a response from the node, whatever its status: the connection and the node work. */
    synchronized void responded() {
        consecutiveFailures = 0;
    }

    /**
     * Records a failed connection, a reset or a timeout. Returns true when this failure ejects the
     * node, after {@code ejectAfter} consecutive failures.
     */
    synchronized boolean failed(int ejectAfter) {
        consecutiveFailures++;
        if (!ejected && consecutiveFailures >= ejectAfter) {
            ejected = true;
            ejections++;
            return true;
        }
        return false;
    }

    /** Claims the node's readiness check; false when one is already in flight. */
    synchronized boolean startCheck() {
        if (checking) {
            return false;
        }
        checking = true;
        return true;
    }

    /**
     * Records a readiness check that passed. Returns true when the node starts serving now: it was
     * new, not ready or ejected. It then starts its ramp-up with no model known, since a node that
     * restarted may serve other models.
     */
    synchronized boolean checkPassed(long nowNanos) {
        checking = false;
        answering = true;
        consecutiveFailures = 0;
        if (ready && !ejected) {
            return false;
        }
        ready = true;
        ejected = false;
        readySinceNanos = nowNanos;
        models.clear();
        return true;
    }

    /**
     * Records a readiness check whose response was not ready, from a draining or loading node.
     * Returns whether the node was ready.
     */
    synchronized boolean checkNotReady() {
        checking = false;
        answering = true;
        consecutiveFailures = 0;
        boolean was = ready;
        ready = false;
        return was;
    }

    /** Records a readiness check that failed to connect or timed out. Returns whether it was ready. */
    synchronized boolean checkFailed(int ejectAfter) {
        checking = false;
        answering = false;
        boolean was = ready;
        ready = false;
        failed(ejectAfter);
        return was;
    }

    synchronized ModelState modelState(ModelKey key) {
        return models.getOrDefault(key, ModelState.UNKNOWN);
    }

    synchronized void modelState(ModelKey key, ModelState state) {
        // Clients name models freely, so 404s could grow the map without bound; it is re-learnt instead.
        if (models.size() >= MAX_MODEL_STATES && !models.containsKey(key)) {
            models.clear();
        }
        models.put(key, state);
    }

    @Override
    public String toString() {
        return address.toString();
    }
}
