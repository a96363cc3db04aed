package dev.levee.gateway;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The models whose readiness the gateway checks on every node: those requested recently, up to
 * {@value #MAX_MODELS}. Clients may name any model, so the set is bounded, and a model that no
 * node has is dropped at its first check round.
 */
final class TrackedModels {
    static final int MAX_MODELS = 64;
    private static final long IDLE_NANOS = TimeUnit.MINUTES.toNanos(10);

    private final Map<ModelKey, Long> lastRequested = new ConcurrentHashMap<>();

    /**
     * Records a request for {@code key} at {@code nowNanos}. Returns true when the key is new to
     * the set, so its readiness should be checked at once.
     */
    boolean requested(ModelKey key, long nowNanos) {
        Long previous = lastRequested.computeIfPresent(key, (k, at) -> nowNanos);
        if (previous != null) {
            return false;
        }
        // A race between two new keys may overshoot the bound by one key per event loop, which is harmless.
        if (lastRequested.size() >= MAX_MODELS) {
            return false;
        }
        return lastRequested.putIfAbsent(key, nowNanos) == null;
    }

    /** Returns the tracked keys, after dropping those not requested for ten minutes. */
    List<ModelKey> current(long nowNanos) {
        lastRequested.entrySet().removeIf(entry -> nowNanos - entry.getValue() > IDLE_NANOS);
        return List.copyOf(lastRequested.keySet());
    }

    void forget(ModelKey key) {
        lastRequested.remove(key);
    }
}
