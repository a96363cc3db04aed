package dev.levee.server;

import static java.util.Objects.requireNonNull;

import dev.levee.batching.BatchScheduler;
import dev.levee.core.ErrorKind;
import dev.levee.core.InferenceException;
import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelConfig;
import dev.levee.runtime.ModelRepository;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads and unloads models of the node's model repository, on request (the model repository
 * extension) and at start, and builds the repository index.
 *
 * <p>Loading a model that is loaded re-reads its folder: versions the version policy selects and
 * the node does not serve are loaded, and once all of them are READY, versions no longer selected
 * are drained and unloaded. A READY version whose configuration changed is loaded again and
 * replaces the old one, which drains. When any version fails to load, nothing is unloaded, so the
 * versions that serve keep serving. Unloading a model drains and unloads all its versions.
 *
 * <p>Load and unload requests run one at a time on one thread, in arrival order, so the registry
 * has one writer. The cost: a slow load delays every control request queued behind it.
 */
public final class ModelControl implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ModelControl.class);
    /** Maximum wait for a retired version's queued and running requests, after which the rest fail with 503. */
    static final long DRAIN_TIMEOUT_SECONDS = 30;
    /** Control requests that may wait behind the running one; more are rejected with 503. */
    private static final int MAX_WAITING_REQUESTS = 64;
    private static final String UNLOADED = "unloaded";

    /** Loads one version of a model; the repository's loader, or a test's wrapper around it. */
    @FunctionalInterface
    interface VersionLoader {
        LoadedModel load(ModelConfig config, long version) throws IOException;
    }

    private final ModelRegistry registry;
    /** The repository the models come from; null when the node serves models it was given at start. */
    private final ModelRepository repository;
    private final ModelControlMode mode;
    private final VersionLoader loader;
    private final NodeOptions options;
    private final NodeMetrics metrics;
    private final ThreadPoolExecutor executor;
    /** Set by {@link #close()}; control requests that have not started by then are rejected. */
    private volatile boolean closing;

    private ModelControl(ModelRegistry registry, ModelRepository repository, ModelControlMode mode,
            VersionLoader loader, NodeOptions options, NodeMetrics metrics) {
        this.registry = requireNonNull(registry, "registry");
        this.repository = repository;
        this.mode = requireNonNull(mode, "mode");
        this.loader = loader;
        this.options = requireNonNull(options, "options");
        this.metrics = requireNonNull(metrics, "metrics");
        this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(MAX_WAITING_REQUESTS),
                Thread.ofPlatform().name("levee-model-control").daemon().factory());
    }

    /** Control over models of {@code repository}; {@code loader} loads one version of a model. */
    static ModelControl forRepository(ModelRegistry registry, ModelRepository repository, ModelControlMode mode,
            VersionLoader loader, NodeOptions options, NodeMetrics metrics) {
        return new ModelControl(registry, requireNonNull(repository, "repository"), mode,
                requireNonNull(loader, "loader"), options, metrics);
    }

    /** Control for a node that serves the models it was given at start: an index, and no loading. */
    static ModelControl forFixedModels(ModelRegistry registry, NodeOptions options, NodeMetrics metrics) {
        return new ModelControl(registry, null, ModelControlMode.NONE, null, options, metrics);
    }

    public ModelControlMode mode() {
        return mode;
    }

    /**
     * Loads or reloads model {@code name} from the repository. The future completes once every
     * selected version is READY and every retired version is unloaded. It fails with
     * INVALID_ARGUMENT when model control is off, for an invalid name, or when a version failed to
     * load, and with NOT_FOUND when the repository has no such model.
     */
    public CompletableFuture<Void> load(String name) {
        return submit("load", name, () -> loadNow(name));
    }

    /**
     * Unloads every version of model {@code name} once each has run the requests it admitted. Fails
     * like {@link #load}; unloading a model that is known but not loaded does nothing.
     */
    public CompletableFuture<Void> unload(String name) {
        return submit("unload", name, () -> unloadNow(name));
    }

    /**
     * Rejects a load request parameter that Levee does not support: Triton's {@code config} and
     * {@code file:<version>/<name>}, which replace the model's folder with files sent in the request.
     * Ignoring them would load something other than what the client sent. Other parameters are ignored.
     */
    public static void checkLoadParameter(String parameter) {
        if (parameter.equals("config") || parameter.startsWith("file:")) {
            throw InferenceException.invalid("load parameter '" + parameter + "' is not supported: Levee loads a "
                    + "model only from its folder in the model repository");
        }
    }

    private CompletableFuture<Void> submit(String operation, String name, Runnable work) {
        if (mode != ModelControlMode.EXPLICIT) {
            return CompletableFuture.failedFuture(InferenceException.invalid("model control is not enabled, so models "
                    + "cannot be loaded or unloaded; start the node with --model-control explicit"));
        }
        if (!ModelRepository.isValidName(name)) {
            return CompletableFuture.failedFuture(InferenceException.invalid(ModelRepository.INVALID_NAME_MESSAGE));
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            executor.execute(() -> run(operation, name, work, done));
        } catch (RejectedExecutionException e) {
            done.completeExceptionally(InferenceException.retryLater(ErrorKind.UNAVAILABLE, closing
                    ? "node is shutting down"
                    : "too many model load and unload requests are waiting (" + MAX_WAITING_REQUESTS
                            + "); retry later", 1));
        }
        return done;
    }

    private void run(String operation, String name, Runnable work, CompletableFuture<Void> done) {
        if (closing) {
            done.completeExceptionally(InferenceException.retryLater(ErrorKind.UNAVAILABLE, "node is shutting down",
                    1));
            return;
        }
        try {
            work.run();
            done.complete(null);
        } catch (InferenceException e) {
            done.completeExceptionally(e);
        } catch (RuntimeException e) {
            log.warn("[{} {}] model control failed inside the node", operation, name, e);
            done.completeExceptionally(InferenceException.internal("internal error", e));
        }
    }

    /**
     * Loads models {@code names} before the node serves; the caller's thread does the work, since
     * no control request can arrive yet. Throws when any of them fails to load.
     */
    void loadAtStart(List<String> names) throws IOException {
        for (String ignored : repository.ignoredFolders()) {
            log.warn("Folder '{}' of the model repository is not served: a model name has letters, digits, '_', "
                    + "'-' and '.' only, and starts with a letter or digit", ignored);
        }
        for (String name : names) {
            try {
                loadNow(name);
            } catch (InferenceException e) {
                throw new IOException("model '" + name + "' could not be loaded at start: " + e.getMessage(), e);
            }
        }
    }

    private void loadNow(String name) {
        // Checked first, so that a name outside the repository never reaches the registry.
        repository.modelFolder(name);
        registry.configure(name, true);
        ModelConfig config;
        SortedSet<Long> selected;
        try {
            config = repository.readConfig(name);
            selected = selectVersions(config);
        } catch (IOException e) {
            if (registry.readySchedulers(name).isEmpty()) {
                registry.failed(name, e.getMessage());
            }
            log.warn("Model {} failed to load: {}", name, e.getMessage());
            throw InferenceException.invalid("failed to load model '" + name + "': " + e.getMessage());
        }
        registry.failed(name, "");

        List<String> failures = new ArrayList<>();
        for (long version : selected) {
            loadVersion(config, version).ifPresent(failures::add);
        }
        if (!failures.isEmpty()) {
            throw InferenceException.invalid("failed to load model '" + name + "': " + String.join("; ", failures)
                    + "; versions that were serving still serve");
        }

        for (Map.Entry<Long, BatchScheduler> ready : registry.readySchedulers(name).entrySet()) {
            if (!selected.contains(ready.getKey())) {
                retire(ready.getValue());
            }
        }
        log.info("Model {} serves versions {}", name, registry.readyVersions(name));
    }

    private SortedSet<Long> selectVersions(ModelConfig config) throws IOException {
        SortedSet<Long> selected = config.versionPolicy().select(repository.versions(config));
        if (selected.isEmpty()) {
            throw new IOException("model " + config.name() + " has no version folder (expected: numbered folders "
                    + "such as " + config.name() + "/1)");
        }
        return selected;
    }

    /** Loads one version unless it is READY with the same settings; returns why it failed, if it did. */
    private Optional<String> loadVersion(ModelConfig config, long version) {
        String name = config.name();
        Optional<BatchScheduler> current = Optional.ofNullable(registry.readySchedulers(name).get(version));
        if (current.isPresent() && sameSettings(current.get().model().config(), config)) {
            return Optional.empty();
        }
        if (current.isEmpty()) {
            registry.loading(name, version);
        }
        LoadedModel loaded = null;
        try {
            loaded = loader.load(config, version);
            BatchScheduler scheduler = new BatchScheduler(loaded, options.clock(), options.admission(), metrics);
            current.ifPresent(metrics::unwatchQueue);
            metrics.watchQueue(scheduler);
            // From here requests go to the new scheduler; the old one, if any, runs what it admitted.
            registry.ready(scheduler);
            current.ifPresent(this::drainAndClose);
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            if (loaded != null) {
                loaded.model().close();
            }
            String reason = e.getMessage() == null ? e.toString() : e.getMessage();
            if (current.isEmpty()) {
                registry.unavailable(name, version, reason);
            }
            log.warn("Model {} version {} failed to load: {}", name, version, reason);
            return Optional.of("version " + version + ": " + reason);
        }
    }

    /** The version policy only picks versions, so a change to it alone reloads nothing. */
    private static boolean sameSettings(ModelConfig serving, ModelConfig read) {
        return serving.withVersionPolicy(read.versionPolicy()).equals(read);
    }

    private void unloadNow(String name) {
        if (!registry.contains(name)) {
            // Rejects names outside the repository, and throws NOT_FOUND for a model the repository does not have.
            repository.modelFolder(name);
            return;
        }
        registry.configure(name, false);
        registry.failed(name, "");
        SortedMap<Long, BatchScheduler> ready = registry.readySchedulers(name);
        // All versions stop taking requests first, then each drains.
        ready.values().forEach(registry::unloading);
        ready.values().forEach(this::finishUnloading);
        log.info("Model {} unloaded", name);
    }

    /** Drains and unloads a READY version that the version policy no longer selects. */
    private void retire(BatchScheduler scheduler) {
        registry.unloading(scheduler);
        finishUnloading(scheduler);
    }

    private void finishUnloading(BatchScheduler scheduler) {
        drainAndClose(scheduler);
        LoadedModel model = scheduler.model();
        registry.unavailable(model.name(), Long.parseLong(model.version()), UNLOADED);
        log.info("Model {} version {} unloaded", model.name(), model.version());
    }

    private void drainAndClose(BatchScheduler scheduler) {
        LoadedModel model = scheduler.model();
        if (!scheduler.drain(DRAIN_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            log.warn("Model {} version {} did not finish its queued requests within {} s; the rest failed with 503",
                    model.name(), model.version(), DRAIN_TIMEOUT_SECONDS);
        }
        metrics.unwatchQueue(scheduler);
        model.model().close();
    }

    /**
     * Returns the repository index: every version in the registry, with its state, and every model
     * folder of the repository that was never loaded, as UNAVAILABLE. With {@code readyOnly}, only
     * READY versions.
     */
    public List<ModelIndexEntry> index(boolean readyOnly) {
        List<ModelIndexEntry> rows = new ArrayList<>(registry.index());
        if (repository != null) {
            Set<String> known = Set.copyOf(rows.stream().map(ModelIndexEntry::name).toList());
            for (String name : repositoryNames()) {
                if (!known.contains(name)) {
                    rows.add(new ModelIndexEntry(name, "", ModelState.UNAVAILABLE, notLoadedReason(name)));
                }
            }
            rows.sort(ModelRegistry.INDEX_ORDER);
        }
        if (readyOnly) {
            rows.removeIf(row -> row.state() != ModelState.READY);
        }
        return rows;
    }

    private List<String> repositoryNames() {
        try {
            return repository.modelNames();
        } catch (IOException e) {
            log.warn("Listing the model repository {} failed", repository.root(), e);
            throw InferenceException.internal("listing the model repository failed", e);
        }
    }

    private String notLoadedReason(String name) {
        try {
            repository.modelFolder(name);
            return "not loaded";
        } catch (InferenceException e) {
            return e.getMessage();
        }
    }

    /**
     * Lets the running control request finish, at most {@link #DRAIN_TIMEOUT_SECONDS} times two,
     * and rejects those still waiting.
     */
    @Override
    public void close() {
        closing = true;
        executor.shutdown();
        try {
            if (!executor.awaitTermination(2 * DRAIN_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                log.warn("A model load or unload was still running when the node stopped");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
