package dev.levee.batching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.levee.core.Clock;
import dev.levee.core.ErrorKind;
import dev.levee.core.InferenceException;
import dev.levee.core.InferenceRequest;
import dev.levee.core.InferenceResponse;
import dev.levee.core.Tensor;
import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelConfig;
import dev.levee.runtime.SyntheticModel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BatchSchedulerTest {
    private static final long WAIT_SECONDS = 30;

    /** A clock the test moves by hand. */
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final Clock clock = now::get;

    /** Holds every batch until the test releases it, and records each batch's size. */
    private final Semaphore permits = new Semaphore(0);
    private final Semaphore started = new Semaphore(0);
    private final List<Integer> batchSizes = new CopyOnWriteArrayList<>();
    private final SyntheticModel.ServiceTime gate = batch -> {
        batchSizes.add(batch.size());
        started.release();
        if (!permits.tryAcquire(WAIT_SECONDS, TimeUnit.SECONDS)) {
            throw new IllegalStateException("batch was not released");
        }
    };

    private SyntheticModel model;
    private BatchScheduler scheduler;

    private BatchScheduler start(int maxBatchSize, int maxQueueSize, Duration maxQueueDelay) {
        return start(maxBatchSize, 0, maxQueueSize, maxQueueDelay);
    }

    private BatchScheduler start(int maxBatchSize, int preferredBatchSize, int maxQueueSize, Duration maxQueueDelay) {
        model = new SyntheticModel("m", "1", gate, null);
        ModelConfig config = ModelConfig.defaults("m", "synthetic")
                .withMaxBatchSize(maxBatchSize)
                .withPreferredBatchSize(preferredBatchSize)
                .withMaxQueueSize(maxQueueSize)
                .withMaxQueueDelay(maxQueueDelay);
        scheduler = new BatchScheduler(new LoadedModel(config, "1", model), clock, AdmissionPolicy.boundedQueue(),
                SchedulerListener.NONE);
        return scheduler;
    }

    @AfterEach
    void stop() {
        permits.release(1000);
        if (scheduler != null) {
            scheduler.close();
        }
    }

    private static InferenceRequest request(float value, int rows, int width, long deadline) {
        float[] data = new float[rows * width];
        java.util.Arrays.fill(data, value);
        Tensor input = Tensor.ofFloats(SyntheticModel.INPUT, new long[] {rows, width}, data);
        return new InferenceRequest("r" + value, "m", "", List.of(input), List.of(), Map.of(), deadline);
    }

    private static InferenceRequest request(float value) {
        return request(value, 1, 2, InferenceRequest.NO_DEADLINE);
    }

    private void awaitBatchStarted() throws InterruptedException {
        assertThat(started.tryAcquire(WAIT_SECONDS, TimeUnit.SECONDS)).as("a batch started").isTrue();
    }

    private void awaitQueueDepth(int depth) throws InterruptedException {
        long limit = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (scheduler.queueDepth() != depth) {
            assertThat(System.nanoTime()).as("queue depth reaches " + depth).isLessThan(limit);
            Thread.sleep(1);
        }
    }

    private static float firstValue(CompletableFuture<InferenceResponse> future) throws Exception {
        return future.get(WAIT_SECONDS, TimeUnit.SECONDS).outputs().getFirst().floats()[0];
    }

    @Test
    void requestsArrivingWithinTheDelayShareOneBatch() throws Exception {
        start(8, 64, Duration.ofHours(1));
        CompletableFuture<InferenceResponse> first = scheduler.submit(request(1));
        CompletableFuture<InferenceResponse> second = scheduler.submit(request(2));
        // The clock stands still, so the batch waits for more requests until the clock passes the
        // hour of max queue delay; the next arrival wakes the worker, which then sees the delay is over.
        assertThat(started.tryAcquire(50, TimeUnit.MILLISECONDS)).as("batch started before its delay").isFalse();
        now.addAndGet(Duration.ofHours(2).toNanos());
        CompletableFuture<InferenceResponse> third = scheduler.submit(request(3));
        awaitBatchStarted();
        permits.release();
        assertThat(firstValue(first)).isEqualTo(1f);
        assertThat(firstValue(second)).isEqualTo(2f);
        assertThat(firstValue(third)).isEqualTo(3f);
        assertThat(batchSizes).containsExactly(3);
    }

    @Test
    void zeroRowRequestSkipsTheModel() throws Exception {
        start(8, 64, Duration.ofHours(1));
        InferenceRequest empty = new InferenceRequest("empty", "m", "", List.of(Tensor.ofFloats(SyntheticModel.INPUT,
                new long[] {0, 3}, new float[0])), List.of(), Map.of("tag", "x"), InferenceRequest.NO_DEADLINE);

        CompletableFuture<InferenceResponse> future = scheduler.submit(empty);

        // The gate blocks every batch and the clock does not move, so only an answer without a run completes.
        assertThat(future).isCompleted();
        InferenceResponse response = future.get();
        assertThat(response.id()).isEqualTo("empty");
        assertThat(response.parameters()).containsEntry("tag", "x");
        assertThat(response.outputs()).hasSize(1);
        assertThat(response.outputs().getFirst().name()).isEqualTo(SyntheticModel.OUTPUT);
        assertThat(response.outputs().getFirst().shape()).containsExactly(0, 3);
        assertThat(response.outputs().getFirst().data().elementCount()).isZero();
        assertThat(scheduler.queueDepth()).isZero();
        assertThat(batchSizes).isEmpty();
    }

    @Test
    void batchesStopAtThePreferredSizeAndALargerRequestRunsAlone() throws Exception {
        start(8, 2, 64, Duration.ZERO);
        CompletableFuture<InferenceResponse> blocker = scheduler.submit(request(0));
        awaitBatchStarted();
        List<CompletableFuture<InferenceResponse>> singles = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            singles.add(scheduler.submit(request(i)));
        }
        CompletableFuture<InferenceResponse> large = scheduler.submit(request(9, 5, 2, InferenceRequest.NO_DEADLINE));
        permits.release(10);
        blocker.get(WAIT_SECONDS, TimeUnit.SECONDS);
        for (int i = 0; i < singles.size(); i++) {
            assertThat(firstValue(singles.get(i))).isEqualTo(i + 1f);
        }
        assertThat(large.get(WAIT_SECONDS, TimeUnit.SECONDS).outputs().getFirst().shape()).containsExactly(5, 2);
        // The blocker, then two singles, then the third single (the large request does not fit
        // beside it), then the large request alone.
        assertThat(batchSizes).containsExactly(1, 2, 1, 1);
    }

    @Test
    void fullBatchRunsWithoutWaitingForTheDelay() throws Exception {
        start(4, 64, Duration.ofHours(1));
        List<CompletableFuture<InferenceResponse>> futures = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            futures.add(scheduler.submit(request(i)));
        }
        awaitBatchStarted();
        permits.release();
        for (int i = 0; i < 4; i++) {
            assertThat(firstValue(futures.get(i))).isEqualTo(i);
        }
        assertThat(batchSizes).containsExactly(4);
    }

    @Test
    void batchNeverExceedsMaxRows() throws Exception {
        start(4, 64, Duration.ZERO);
        CompletableFuture<InferenceResponse> blocker = scheduler.submit(request(0));
        awaitBatchStarted();
        CompletableFuture<InferenceResponse> threeRows = scheduler.submit(request(1, 3, 2, InferenceRequest.NO_DEADLINE));
        CompletableFuture<InferenceResponse> twoRows = scheduler.submit(request(2, 2, 2, InferenceRequest.NO_DEADLINE));
        permits.release(3);
        blocker.get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(threeRows.get(WAIT_SECONDS, TimeUnit.SECONDS).outputs().getFirst().shape()).containsExactly(3, 2);
        assertThat(twoRows.get(WAIT_SECONDS, TimeUnit.SECONDS).outputs().getFirst().shape()).containsExactly(2, 2);
        assertThat(batchSizes).containsExactly(1, 1, 1);
    }

    @Test
    void requestsOfDifferentWidthDoNotShareABatch() throws Exception {
        start(8, 64, Duration.ZERO);
        CompletableFuture<InferenceResponse> blocker = scheduler.submit(request(0));
        awaitBatchStarted();
        CompletableFuture<InferenceResponse> narrow = scheduler.submit(request(1, 1, 2, InferenceRequest.NO_DEADLINE));
        CompletableFuture<InferenceResponse> wide = scheduler.submit(request(2, 1, 3, InferenceRequest.NO_DEADLINE));
        permits.release(3);
        blocker.get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(narrow.get(WAIT_SECONDS, TimeUnit.SECONDS).outputs().getFirst().shape()).containsExactly(1, 2);
        assertThat(wide.get(WAIT_SECONDS, TimeUnit.SECONDS).outputs().getFirst().shape()).containsExactly(1, 3);
        assertThat(batchSizes).containsExactly(1, 1, 1);
    }

    @Test
    void fullQueueRejectsAtOnceWithRetryHint() throws Exception {
        start(1, 2, Duration.ZERO);
        scheduler.submit(request(0));
        awaitBatchStarted();
        scheduler.submit(request(1));
        scheduler.submit(request(2));
        CompletableFuture<InferenceResponse> rejected = scheduler.submit(request(3));
        assertThat(rejected).isCompletedExceptionally();
        InferenceException error = failure(rejected);
        assertThat(error.kind()).isEqualTo(ErrorKind.OVERLOADED);
        assertThat(error.retryAfterSeconds()).isPresent();
        assertThat(error.getStackTrace()).isEmpty();
    }

    @Test
    void cancelledRequestNeverRuns() throws Exception {
        start(1, 8, Duration.ZERO);
        CompletableFuture<InferenceResponse> blocker = scheduler.submit(request(0));
        awaitBatchStarted();
        CompletableFuture<InferenceResponse> cancelled = scheduler.submit(request(1));
        CompletableFuture<InferenceResponse> kept = scheduler.submit(request(2));
        cancelled.cancel(false);
        permits.release(5);
        blocker.get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(firstValue(kept)).isEqualTo(2f);
        assertThat(model.executedRequests()).isEqualTo(2);
    }

    @Test
    void requestPastItsDeadlineGets504AndNeverRuns() throws Exception {
        start(1, 8, Duration.ZERO);
        CompletableFuture<InferenceResponse> blocker = scheduler.submit(request(0));
        awaitBatchStarted();
        long deadline = now.get() + Duration.ofMillis(100).toNanos();
        CompletableFuture<InferenceResponse> late = scheduler.submit(request(1, 1, 2, deadline));
        awaitQueueDepth(1);
        now.addAndGet(Duration.ofMillis(101).toNanos());
        permits.release(5);
        blocker.get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(failure(late).kind()).isEqualTo(ErrorKind.DEADLINE_EXCEEDED);
        assertThat(model.executedRequests()).isEqualTo(1);
    }

    @Test
    void invalidRequestFailsWithoutEnteringTheQueue() {
        start(4, 8, Duration.ZERO);
        Tensor wrong = Tensor.ofFloats("nope", new long[] {1, 1}, new float[] {1});
        CompletableFuture<InferenceResponse> future = scheduler.submit(
                new InferenceRequest("", "m", "", List.of(wrong), List.of(), Map.of(), InferenceRequest.NO_DEADLINE));
        assertThat(failure(future).kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT);
        assertThat(scheduler.queueDepth()).isZero();
    }

    @Test
    void closeFailsQueuedRequestsAsUnavailable() throws Exception {
        start(1, 8, Duration.ZERO);
        scheduler.submit(request(0));
        awaitBatchStarted();
        CompletableFuture<InferenceResponse> queued = scheduler.submit(request(1));
        permits.release(5);
        scheduler.close(WAIT_SECONDS, TimeUnit.SECONDS);
        if (queued.isCompletedExceptionally()) {
            assertThat(failure(queued).kind()).isEqualTo(ErrorKind.UNAVAILABLE);
        } else {
            assertThat(firstValue(queued)).isEqualTo(1f);
        }
        assertThat(failure(scheduler.submit(request(2))).kind()).isEqualTo(ErrorKind.UNAVAILABLE);
    }

    @Test
    void drainRunsQueuedRequestsAndAdmitsNoMore() throws Exception {
        start(1, 64, Duration.ZERO);
        CompletableFuture<InferenceResponse> running = scheduler.submit(request(0));
        awaitBatchStarted();
        CompletableFuture<InferenceResponse> queued1 = scheduler.submit(request(1));
        CompletableFuture<InferenceResponse> queued2 = scheduler.submit(request(2));
        CompletableFuture<Boolean> drained = CompletableFuture.supplyAsync(
                () -> scheduler.drain(WAIT_SECONDS, TimeUnit.SECONDS));

        // Probes are admitted until the drain begins, and each admitted probe must then run too.
        List<CompletableFuture<InferenceResponse>> admitted = new ArrayList<>();
        long limit = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (true) {
            assertThat(System.nanoTime()).as("the drain begins").isLessThan(limit);
            var probe = scheduler.submitIfOpen(request(9));
            if (probe.isEmpty()) {
                break;
            }
            admitted.add(probe.get());
            Thread.sleep(1);
        }
        assertThat(failure(scheduler.submit(request(3))).kind()).isEqualTo(ErrorKind.UNAVAILABLE);
        assertThat(drained).isNotDone();

        permits.release(1000);
        assertThat(drained.get(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(firstValue(running)).isEqualTo(0f);
        assertThat(firstValue(queued1)).isEqualTo(1f);
        assertThat(firstValue(queued2)).isEqualTo(2f);
        for (CompletableFuture<InferenceResponse> probe : admitted) {
            assertThat(firstValue(probe)).isEqualTo(9f);
        }
        assertThat(model.executedRequests()).isEqualTo(3 + admitted.size());
    }

    private static InferenceException failure(CompletableFuture<InferenceResponse> future) {
        assertThatThrownBy(() -> future.get(WAIT_SECONDS, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
        return (InferenceException) future.exceptionNow();
    }
}
