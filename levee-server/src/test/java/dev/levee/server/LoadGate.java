package dev.levee.server;

import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelConfig;
import dev.levee.runtime.ModelRepository;
import java.io.IOException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A version loader that blocks the load of chosen model versions until the test opens the gate,
 * so a test sees a version in the LOADING state for as long as it needs. Every wait is bounded.
 */
final class LoadGate implements ModelControl.VersionLoader {
    private static final long MAX_WAIT_SECONDS = 30;

    private final ModelControl.VersionLoader loader;
    private final Set<String> held = ConcurrentHashMap.newKeySet();
    private final Semaphore permits = new Semaphore(0);

    LoadGate(ModelRepository repository) {
        this.loader = repository::loadVersion;
    }

    /** Holds the next loads of {@code model} version {@code version} until {@link #open}. */
    LoadGate hold(String model, long version) {
        held.add(model + "/" + version);
        return this;
    }

    /** Lets every held load, now and later, go on. */
    void open() {
        held.clear();
        permits.release(Integer.MAX_VALUE / 2);
    }

    @Override
    public LoadedModel load(ModelConfig config, long version) throws IOException {
        if (held.contains(config.name() + "/" + version)) {
            try {
                if (!permits.tryAcquire(MAX_WAIT_SECONDS, TimeUnit.SECONDS)) {
                    throw new IOException("load gate was not opened within " + MAX_WAIT_SECONDS + " s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while the load gate was shut", e);
            }
        }
        return loader.load(config, version);
    }
}
