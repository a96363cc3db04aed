package dev.levee.server;

import dev.levee.batching.BatchScheduler;
import dev.levee.core.InferenceException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The model versions a node serves, each with its scheduler. Versions are numeric strings
 * compared by value, so "10" is newer than "9".
 */
public final class ModelRegistry {
    /** Model name to versions, newest last. Each inner map is replaced or changed as a whole version. */
    private final Map<String, ConcurrentSkipListMap<Long, BatchScheduler>> models = new ConcurrentHashMap<>();

    public void add(BatchScheduler scheduler) {
        String name = scheduler.model().name();
        long version = parseVersion(scheduler.model().version())
                .orElseThrow(() -> new IllegalArgumentException(
                        "version: " + scheduler.model().version() + " (expected: a non-negative integer)"));
        models.computeIfAbsent(name, n -> new ConcurrentSkipListMap<>()).put(version, scheduler);
    }

    /**
     * Returns the scheduler for {@code model} at {@code version}, or the newest version when
     * {@code version} is empty. Throws NOT_FOUND for an unknown model or version.
     */
    public BatchScheduler find(String model, String version) {
        ConcurrentSkipListMap<Long, BatchScheduler> versions = models.get(model);
        if (versions == null || versions.isEmpty()) {
            throw InferenceException.notFound("model '" + model + "' is not found");
        }
        if (version.isEmpty()) {
            return versions.lastEntry().getValue();
        }
        BatchScheduler scheduler = parseVersion(version).map(versions::get).orElse(null);
        if (scheduler == null) {
            throw InferenceException.notFound("model '" + model + "' has no version '" + version + "'");
        }
        return scheduler;
    }

    /** Versions of {@code model}, oldest first. */
    public List<String> versions(String model) {
        ConcurrentSkipListMap<Long, BatchScheduler> versions = models.get(model);
        return versions == null ? List.of() : versions.keySet().stream().map(String::valueOf).toList();
    }

    public Collection<BatchScheduler> all() {
        return models.values().stream().flatMap(v -> v.values().stream()).toList();
    }

    /** Returns the requests queued or running over all model versions. */
    public int pendingRequests() {
        int pending = 0;
        for (ConcurrentSkipListMap<Long, BatchScheduler> versions : models.values()) {
            for (BatchScheduler scheduler : versions.values()) {
                pending += scheduler.queueDepth() + scheduler.inFlight();
            }
        }
        return pending;
    }

    public boolean isEmpty() {
        return models.isEmpty();
    }

    private static Optional<Long> parseVersion(String version) {
        if (!version.matches("[0-9]{1,18}")) {
            return Optional.empty();
        }
        return Optional.of(Long.parseLong(version));
    }
}
