package dev.levee.server;

import dev.levee.core.InferenceRequest;
import dev.levee.runtime.SyntheticModel;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A service time that holds each batch until the test lets it through, so a test decides exactly
 * when model instances are busy. Every wait is bounded.
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

    /** Waits until {@code batches} more batches have reached the gate. */
    void awaitStarted(int batches) throws InterruptedException {
        if (!started.tryAcquire(batches, MAX_WAIT_SECONDS, TimeUnit.SECONDS)) {
            throw new AssertionError(batches + " batches did not start within " + MAX_WAIT_SECONDS + " s");
        }
    }

    /** Lets {@code batches} batches through. */
    void open(int batches) {
        permits.release(batches);
    }

    /** Lets every batch through from now on. */
    void openForever() {
        permits.release(Integer.MAX_VALUE / 2);
    }

}
