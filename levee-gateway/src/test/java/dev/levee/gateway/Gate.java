package dev.levee.gateway;

import dev.levee.core.InferenceRequest;
import dev.levee.runtime.SyntheticModel;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A synthetic model's service time that blocks every batch until the test opens the gate, so a test
 * decides when a node is busy. A batch waits at most 30 s.
 */
final class Gate implements SyntheticModel.ServiceTime {
    private static final long MAX_WAIT_SECONDS = 30;

    private final Semaphore permits = new Semaphore(0);
    private final Semaphore started = new Semaphore(0);

    @Override
    public void spend(List<InferenceRequest> batch) throws InterruptedException {
        started.release();
        if (!permits.tryAcquire(MAX_WAIT_SECONDS, TimeUnit.SECONDS)) {
            throw new IllegalStateException("gate was not opened within " + MAX_WAIT_SECONDS + " s");
        }
    }

    void awaitStarted(int batches) throws InterruptedException {
        if (!started.tryAcquire(batches, MAX_WAIT_SECONDS, TimeUnit.SECONDS)) {
            throw new AssertionError(batches + " batches did not start within " + MAX_WAIT_SECONDS + " s");
        }
    }

    /** Lets every batch through from now on. */
    void openForever() {
        permits.release(Integer.MAX_VALUE / 2);
    }
}
