package dev.levee.batching;

import static org.assertj.core.api.Assertions.assertThat;

import dev.levee.core.Clock;
import dev.levee.core.ErrorKind;
import dev.levee.core.InferenceException;
import dev.levee.core.InferenceRequest;
import dev.levee.core.InferenceResponse;
import dev.levee.core.Priority;
import dev.levee.core.Tensor;
import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelConfig;
import dev.levee.runtime.SyntheticModel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Predictive admission on a hand-moved clock: every batch of the synthetic model advances the
 * clock by exactly 10 ms, so the scheduler's service time estimate and drain times are exact.
 */
class PredictiveAdmissionTest {
    private static final long SERVICE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    private static final long WAIT_SECONDS = 30;

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final Clock clock = now::get;
    private final Semaphore permits = new Semaphore(0);
    private final Semaphore started = new Semaphore(0);
    private final List<RejectionReason> rejections = new ArrayList<>();
    private BatchScheduler scheduler;

    @AfterEach
    void stop() {
        permits.release(10_000);
        scheduler.close();
    }

    /** Max batch 1, target queue delay 100 ms, batches held until the test releases them. */
    private void start() throws Exception {
        SyntheticModel.ServiceTime service = batch -> {
            started.release();
            if (!permits.tryAcquire(WAIT_SECONDS, TimeUnit.SECONDS)) {
                throw new IllegalStateException("batch was not released");
            }
            now.addAndGet(SERVICE_NANOS);
        };
        ModelConfig config = ModelConfig.defaults("m", "synthetic")
                .withMaxBatchSize(1)
                .withMaxQueueSize(1000)
                .withMaxQueueDelay(Duration.ZERO)
                .withTargetQueueDelay(Duration.ofMillis(100));
        SchedulerListener listener = new SchedulerListener() {
            @Override
            public void rejected(String model, RejectionReason reason) {
                synchronized (rejections) {
                    rejections.add(reason);
                }
            }
        };
        scheduler = new BatchScheduler(new LoadedModel(config, "1", new SyntheticModel("m", "1", service, null)),
                clock, AdmissionPolicy.predictive(), listener, DeadlineTimer.NONE);
        // Train the service time estimate with a few batches of exactly 10 ms each.
        for (int i = 0; i < 5; i++) {
            CompletableFuture<InferenceResponse> warm = scheduler.submit(request(Priority.NORMAL, InferenceRequest.NO_DEADLINE));
            permits.release();
            warm.get(WAIT_SECONDS, TimeUnit.SECONDS);
            started.acquire();
        }
        // Hold the next batch, so everything submitted afterwards stays queued.
        scheduler.submit(request(Priority.NORMAL, InferenceRequest.NO_DEADLINE));
        assertThat(started.tryAcquire(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
    }

    private static InferenceRequest request(Priority priority, long deadline) {
        Tensor input = Tensor.ofFloats(SyntheticModel.INPUT, new long[] {1, 1}, new float[] {1});
        return new InferenceRequest("", "m", "", List.of(input), List.of(), Map.of(), deadline, priority);
    }

    private CompletableFuture<InferenceResponse> submit(Priority priority) {
        return scheduler.submit(request(priority, InferenceRequest.NO_DEADLINE));
    }

    private static InferenceException rejection(CompletableFuture<InferenceResponse> future) {
        assertThat(future).isCompletedExceptionally();
        return (InferenceException) future.exceptionNow();
    }

    @Test
    void queueIsKeptWithinTheTargetDelay() throws Exception {
        start();
        // Each queued request adds 10 ms of drain time; the 11th finds 100 ms queued, which is
        // not over the target, and the 12th finds 110 ms.
        for (int i = 0; i < 11; i++) {
            assertThat(submit(Priority.NORMAL)).as("request %d", i).isNotDone();
        }
        InferenceException rejected = rejection(submit(Priority.NORMAL));
        assertThat(rejected.kind()).isEqualTo(ErrorKind.OVERLOADED);
        // The fitted estimate of 10 ms per batch may land a hair below, so 110 ms can print as 109.
        assertThat(rejected.getMessage()).containsPattern("1(09|10) ms to drain").contains("100 ms target");
        assertThat(rejected.retryAfterSeconds()).hasValue(1);
        assertThat(rejections).containsExactly(RejectionReason.QUEUE_DELAY);
    }

    @Test
    void lowPriorityIsShedBeforeNormal() throws Exception {
        start();
        for (int i = 0; i < 5; i++) {
            assertThat(submit(Priority.LOW)).as("low request %d", i).isNotDone();
        }
        // 50 ms queued is not over half the target; 60 ms is.
        assertThat(submit(Priority.LOW)).isNotDone();
        assertThat(rejection(submit(Priority.LOW)).getMessage()).contains("low-priority");
        assertThat(submit(Priority.NORMAL)).isNotDone();
        assertThat(rejections).containsExactly(RejectionReason.LOW_PRIORITY);
    }

    @Test
    void requestWhoseDeadlineCannotBeMetIsRejectedAtOnce() throws Exception {
        start();
        for (int i = 0; i < 4; i++) {
            submit(Priority.NORMAL);
        }
        // 40 ms queued plus its own 10 ms batch: a 45 ms timeout cannot be met, a 55 ms one can.
        long tooSoon = now.get() + TimeUnit.MILLISECONDS.toNanos(45);
        InferenceException rejected = rejection(scheduler.submit(request(Priority.NORMAL, tooSoon)));
        assertThat(rejected.getMessage()).contains("cannot answer within the request's timeout");
        assertThat(rejected.retryAfterSeconds()).isPresent();
        long reachable = now.get() + TimeUnit.MILLISECONDS.toNanos(55);
        assertThat(scheduler.submit(request(Priority.NORMAL, reachable))).isNotDone();
        assertThat(rejections).containsExactly(RejectionReason.DEADLINE);
    }
}
