package dev.levee.server;

import static java.util.Objects.requireNonNull;

import dev.levee.batching.BatchScheduler;
import dev.levee.core.ErrorKind;
import dev.levee.core.InferenceException;
import dev.levee.core.InferenceRequest;
import dev.levee.core.InferenceResponse;
import dev.levee.core.ModelMetadata;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The models a node has loaded or tried to load, each with its versions, the state of each version, and the scheduler
 * of each version that is READY or UNLOADING. Versions are numbers, so "10" is newer than "9".
 *
 * <p>Only one thread changes the registry at a time: the start of the node, then the model control
 * thread. Request threads read it without a lock. A version's state is replaced as a whole, so a
 * reader sees either the old or the new state of a version, never a mix.
 */
public final class ModelRegistry {
    /**
     * Times a request is routed again when the version it was routed to began to drain before the
     * request reached its queue. The model control thread marks a version UNLOADING before it
     * drains it, so the second attempt finds another version or an error. Three leave a margin.
     */
    private static final int MAX_ROUTING_ATTEMPTS = 3;
    private static final long RETRY_AFTER_SECONDS = 1;
    /** Rows by model name, then version number, the row without version first. */
    static final Comparator<ModelIndexEntry> INDEX_ORDER = Comparator.comparing(ModelIndexEntry::name)
            .thenComparingLong(row -> row.version().isEmpty() ? -1 : Long.parseLong(row.version()));

    /** Schedulers by model name, then version number. */
    private static final Comparator<BatchScheduler> SCHEDULER_ORDER = Comparator
            .comparing((BatchScheduler scheduler) -> scheduler.model().name())
            .thenComparingLong(ModelRegistry::versionNumber);

    private final Map<String, ModelEntry> models = new ConcurrentHashMap<>();

    /** One model: its versions, and whether the node should serve it. */
    private static final class ModelEntry {
        final ConcurrentSkipListMap<Long, VersionState> versions = new ConcurrentSkipListMap<>();
        /** True from a load request until an unload request; node readiness waits for such models. */
        volatile boolean configured;
        /** Reason the last load failed before any version could be named; empty otherwise. */
        volatile String failure = "";

        boolean hasReady() {
            return versions.values().stream().anyMatch(v -> v instanceof Ready);
        }
    }

    /** The state of one version, with what that state carries. */
    private sealed interface VersionState {
        ModelState state();

        default String reason() {
            return "";
        }
    }

    private record Loading() implements VersionState {
        @Override
        public ModelState state() {
            return ModelState.LOADING;
        }
    }

    private record Ready(BatchScheduler scheduler) implements VersionState {
        @Override
        public ModelState state() {
            return ModelState.READY;
        }
    }

    private record Unloading(BatchScheduler scheduler) implements VersionState {
        @Override
        public ModelState state() {
            return ModelState.UNLOADING;
        }
    }

    private record Unavailable(String reason) implements VersionState {
        @Override
        public ModelState state() {
            return ModelState.UNAVAILABLE;
        }
    }

    /** Adds a READY version that the node serves from its start. */
    public void add(BatchScheduler scheduler) {
        ModelEntry entry = entry(scheduler.model().name());
        entry.configured = true;
        entry.versions.put(versionNumber(scheduler), new Ready(scheduler));
    }

    /**
     * Returns the scheduler of {@code model} at {@code version}, or of its newest READY version when
     * {@code version} is empty. Throws NOT_FOUND for an unknown model or version, or for one that
     * is not loaded, and UNAVAILABLE with a retry hint for one that is loading or unloading.
     */
    public BatchScheduler find(String model, String version) {
        ModelEntry entry = models.get(model);
        if (entry == null) {
            throw InferenceException.notFound("model '" + model + "' is not found");
        }
        if (version.isEmpty()) {
            return newestReady(model, entry);
        }
        VersionState state = parseVersion(version).map(entry.versions::get).orElse(null);
        return switch (state) {
            case null -> throw InferenceException.notFound("model '" + model + "' has no version '" + version + "'");
            case Ready ready -> ready.scheduler();
            case Loading loading -> throw notReadyYet(subject(model, version), "is loading");
            case Unloading unloading -> throw notReadyYet(subject(model, version), "is unloading");
            case Unavailable unavailable -> throw notLoaded(subject(model, version));
        };
    }

    private static BatchScheduler newestReady(String model, ModelEntry entry) {
        boolean loading = false;
        boolean unloading = false;
        for (VersionState state : entry.versions.descendingMap().values()) {
            switch (state) {
                case Ready ready -> {
                    return ready.scheduler();
                }
                case Loading l -> loading = true;
                case Unloading u -> unloading = true;
                case Unavailable u -> { }
            }
        }
        if (loading) {
            throw notReadyYet(subject(model, ""), "is loading");
        }
        if (unloading) {
            throw notReadyYet(subject(model, ""), "is unloading");
        }
        throw notLoaded(subject(model, ""));
    }

    private static String subject(String model, String version) {
        return version.isEmpty() ? "model '" + model + "'" : "model '" + model + "' version '" + version + "'";
    }

    private static InferenceException notReadyYet(String subject, String what) {
        return InferenceException.retryLater(ErrorKind.UNAVAILABLE, subject + " " + what + "; retry later",
                RETRY_AFTER_SECONDS);
    }

    private static InferenceException notLoaded(String subject) {
        return InferenceException.notFound(subject + " is not loaded; POST /v2/repository/index shows its state "
                + "and the reason");
    }

    /**
     * Routes a request to {@code model} at {@code version} (the newest READY version when empty) and
     * submits it. When the version began to drain before the request reached its queue, the
     * request is routed again, so a version swap fails no request that names no version. Throws
     * as {@link #find} does.
     */
    public CompletableFuture<InferenceResponse> submit(String model, String version, InferenceRequest request) {
        for (int attempt = 0; attempt < MAX_ROUTING_ATTEMPTS; attempt++) {
            Optional<CompletableFuture<InferenceResponse>> future = find(model, version).submitIfOpen(request);
            if (future.isPresent()) {
                return future.get();
            }
        }
        throw InferenceException.retryLater(ErrorKind.UNAVAILABLE,
                "model '" + model + "' is unloading; retry later", RETRY_AFTER_SECONDS);
    }

    /**
     * Returns the metadata of {@code model} at {@code version} (the newest READY version when
     * empty), listing every READY version of the model. Throws as {@link #find} does.
     */
    public ModelMetadata metadata(String model, String version) {
        ModelMetadata metadata = find(model, version).model().model().metadata();
        return new ModelMetadata(metadata.name(), readyVersions(model), metadata.platform(), metadata.inputs(),
                metadata.outputs());
    }

    /**
     * Returns the state of {@code model} at {@code version}. With an empty version it is READY when
     * any version is, else LOADING or UNLOADING when a version is, else UNAVAILABLE. Throws
     * NOT_FOUND for a model or version the registry has no entry for.
     */
    public ModelState state(String model, String version) {
        ModelEntry entry = models.get(model);
        if (entry == null) {
            throw InferenceException.notFound("model '" + model + "' is not found");
        }
        if (!version.isEmpty()) {
            VersionState state = parseVersion(version).map(entry.versions::get).orElseThrow(
                    () -> InferenceException.notFound("model '" + model + "' has no version '" + version + "'"));
            return state.state();
        }
        List<ModelState> states = entry.versions.values().stream().map(VersionState::state).toList();
        for (ModelState candidate : List.of(ModelState.READY, ModelState.LOADING, ModelState.UNLOADING)) {
            if (states.contains(candidate)) {
                return candidate;
            }
        }
        return ModelState.UNAVAILABLE;
    }

    /** READY versions of {@code model}, oldest first. */
    public List<String> readyVersions(String model) {
        return readySchedulers(model).keySet().stream().map(String::valueOf).toList();
    }

    /**
     * Returns whether the node can serve: at least one model has a READY version, and every model
     * configured to be served has one.
     */
    public boolean ready() {
        boolean anyReady = false;
        for (ModelEntry entry : models.values()) {
            boolean hasReady = entry.hasReady();
            if (entry.configured && !hasReady) {
                return false;
            }
            anyReady |= hasReady;
        }
        return anyReady;
    }

    /** Returns one row per version in the registry, and a row without version for a model whose load failed early. */
    public List<ModelIndexEntry> index() {
        List<ModelIndexEntry> rows = new ArrayList<>();
        for (Map.Entry<String, ModelEntry> model : models.entrySet()) {
            String failure = model.getValue().failure;
            if (!failure.isEmpty()) {
                rows.add(new ModelIndexEntry(model.getKey(), "", ModelState.UNAVAILABLE, failure));
            }
            model.getValue().versions.forEach((version, state) -> rows.add(
                    new ModelIndexEntry(model.getKey(), version.toString(), state.state(), state.reason())));
        }
        rows.sort(INDEX_ORDER);
        return rows;
    }

    /** Returns whether the registry has an entry for {@code model}, in any state. */
    public boolean contains(String model) {
        return models.containsKey(model);
    }

    /**
     * Returns the schedulers whose statistics a statistics request names: with an empty
     * {@code model}, those of every version the node serves; with an empty {@code version}, those
     * of every version of {@code model} the node serves; else that one version's. Versions that are
     * READY or UNLOADING count, since both have run requests. Throws INVALID_ARGUMENT for a version
     * without a model, and otherwise as {@link #find} does when nothing matches.
     */
    public List<BatchScheduler> statisticsSchedulers(String model, String version) {
        if (model.isEmpty()) {
            if (!version.isEmpty()) {
                throw InferenceException.invalid("statistics request names version '" + version
                        + "' but no model (expected: a model name with the version)");
            }
            List<BatchScheduler> schedulers = new ArrayList<>(all());
            schedulers.sort(SCHEDULER_ORDER);
            return schedulers;
        }
        ModelEntry entry = models.get(model);
        if (entry == null) {
            throw InferenceException.notFound("model '" + model + "' is not found");
        }
        List<BatchScheduler> schedulers = new ArrayList<>();
        entry.versions.forEach((number, state) -> {
            boolean named = version.isEmpty() || parseVersion(version).equals(Optional.of(number));
            switch (state) {
                case Ready ready when named -> schedulers.add(ready.scheduler());
                case Unloading unloading when named -> schedulers.add(unloading.scheduler());
                default -> { }
            }
        });
        if (schedulers.isEmpty()) {
            // find() throws the matching NOT_FOUND or UNAVAILABLE, unless a version became READY meanwhile.
            return List.of(find(model, version));
        }
        return schedulers;
    }

    /** Schedulers of every READY or UNLOADING version. */
    public Collection<BatchScheduler> all() {
        List<BatchScheduler> schedulers = new ArrayList<>();
        for (ModelEntry entry : models.values()) {
            for (VersionState state : entry.versions.values()) {
                switch (state) {
                    case Ready ready -> schedulers.add(ready.scheduler());
                    case Unloading unloading -> schedulers.add(unloading.scheduler());
                    case Loading l -> { }
                    case Unavailable u -> { }
                }
            }
        }
        return schedulers;
    }

    // The methods below change the registry; only the model control thread and the node's start call them.

    /** Schedulers of the READY versions of {@code model}, by version number. */
    SortedMap<Long, BatchScheduler> readySchedulers(String model) {
        SortedMap<Long, BatchScheduler> ready = new TreeMap<>();
        ModelEntry entry = models.get(model);
        if (entry != null) {
            entry.versions.forEach((version, state) -> {
                if (state instanceof Ready r) {
                    ready.put(version, r.scheduler());
                }
            });
        }
        return ready;
    }

    /** Marks whether the node should serve {@code model}, adding an entry for it when it has none. */
    void configure(String model, boolean configured) {
        entry(model).configured = configured;
    }

    void loading(String model, long version) {
        entry(model).versions.put(version, new Loading());
    }

    /** Makes the scheduler's version READY, replacing whatever state that version had. */
    void ready(BatchScheduler scheduler) {
        entry(scheduler.model().name()).versions.put(versionNumber(scheduler), new Ready(scheduler));
    }

    void unloading(BatchScheduler scheduler) {
        entry(scheduler.model().name()).versions.put(versionNumber(scheduler), new Unloading(scheduler));
    }

    void unavailable(String model, long version, String reason) {
        entry(model).versions.put(version, new Unavailable(requireNonNull(reason, "reason")));
    }

    /** Records why loading {@code model} failed before any version could be named; empty clears it. */
    void failed(String model, String reason) {
        entry(model).failure = requireNonNull(reason, "reason");
    }

    private ModelEntry entry(String model) {
        return models.computeIfAbsent(model, name -> new ModelEntry());
    }

    private static long versionNumber(BatchScheduler scheduler) {
        return parseVersion(scheduler.model().version()).orElseThrow(() -> new IllegalArgumentException(
                "version: " + scheduler.model().version() + " (expected: a non-negative integer)"));
    }

    /** Returns the requests queued or running over all model versions, READY or UNLOADING. */
    public int pendingRequests() {
        int pending = 0;
        for (BatchScheduler scheduler : all()) {
            pending += scheduler.queueDepth() + scheduler.inFlight();
        }
        return pending;
    }

    private static Optional<Long> parseVersion(String version) {
        if (!version.matches("[0-9]{1,18}")) {
            return Optional.empty();
        }
        return Optional.of(Long.parseLong(version));
    }
}
