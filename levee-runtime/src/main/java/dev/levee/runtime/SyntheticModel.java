package dev.levee.runtime;

import dev.levee.core.Clock;
import dev.levee.core.DataType;
import dev.levee.core.InferenceException;
import dev.levee.core.InferenceRequest;
import dev.levee.core.ModelMetadata;
import dev.levee.core.Tensor;
import dev.levee.core.TensorData;
import dev.levee.core.TensorMetadata;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A model with controlled behaviour for tests and capacity benchmarks: it echoes FP32 input
 * {@code INPUT0} as output {@code OUTPUT0} after a fixed service time per batch, and fails any
 * request whose first element equals the configured failure marker.
 *
 * <p>Parameters in the model configuration: {@code service_time_ms} (default 0) and
 * {@code fail_marker} (default: none).
 */
public final class SyntheticModel implements Model {
    public static final String INPUT = "INPUT0";
    public static final String OUTPUT = "OUTPUT0";

    /** Service time of a run. Tests replace the sleep with a gate they open. */
    @FunctionalInterface
    public interface ServiceTime {
        void spend(List<InferenceRequest> batch) throws InterruptedException;

        static ServiceTime sleeping(long millis) {
            return batch -> {
                if (millis > 0) {
                    Thread.sleep(millis);
                }
            };
        }
    }

    /**
     * Lateness not counted by {@link #startedPastDeadline()}: the scheduler checks deadlines just
     * before it calls the model, on the same thread, but a loaded machine can preempt that thread
     * in between for milliseconds (seen: over 1 ms at a load average of 3 on 2 cores).
     */
    private static final long DEADLINE_TOLERANCE_NANOS = 20_000_000;

    private final ModelMetadata metadata;
    private final ServiceTime serviceTime;
    private final Float failMarker;
    private final Clock clock;
    private final AtomicLong executedRequests = new AtomicLong();
    private final AtomicLong startedPastDeadline = new AtomicLong();
    private final AtomicLong executedBatches = new AtomicLong();
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicInteger maxRunning = new AtomicInteger();

    public SyntheticModel(String name, String version, ServiceTime serviceTime, Float failMarker) {
        this(name, version, serviceTime, failMarker, Clock.SYSTEM);
    }

    /** Creates a synthetic model that checks each request's deadline against {@code clock} when its batch starts. */
    public SyntheticModel(String name, String version, ServiceTime serviceTime, Float failMarker, Clock clock) {
        this.clock = clock;
        this.metadata = new ModelMetadata(name, List.of(version), "synthetic",
                List.of(new TensorMetadata(INPUT, DataType.FP32, new long[] {-1, -1})),
                List.of(new TensorMetadata(OUTPUT, DataType.FP32, new long[] {-1, -1})));
        this.serviceTime = serviceTime;
        this.failMarker = failMarker;
    }

    /** Builds the model from {@code service_time_ms} and {@code fail_marker} configuration parameters. */
    public static SyntheticModel fromConfig(String version, ModelConfig config) {
        String serviceTime = config.parameters().getOrDefault("service_time_ms", "0");
        String marker = config.parameters().get("fail_marker");
        long millis;
        try {
            millis = Long.parseLong(serviceTime);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("service_time_ms: " + serviceTime + " (expected: an integer)");
        }
        if (millis < 0) {
            throw new IllegalArgumentException("service_time_ms: " + millis + " (expected: >= 0)");
        }
        return new SyntheticModel(config.name(), version, ServiceTime.sleeping(millis),
                marker == null ? null : Float.valueOf(marker));
    }

    @Override
    public ModelMetadata metadata() {
        return metadata;
    }

    @Override
    public boolean batching() {
        return true;
    }

    /** Echoes the input's shape, as a run would. */
    @Override
    public Optional<List<Tensor>> emptyOutputs(InferenceRequest request) {
        Tensor input = request.input(INPUT).orElseThrow();
        return Optional.of(List.of(Tensor.empty(OUTPUT, DataType.FP32, input.shape())));
    }

    @Override
    public List<RowOutcome> run(List<InferenceRequest> batch) throws InterruptedException {
        long start = clock.nanoTime();
        int now = running.incrementAndGet();
        maxRunning.accumulateAndGet(now, Math::max);
        for (InferenceRequest request : batch) {
            if (request.deadlineNanos() < start - DEADLINE_TOLERANCE_NANOS) {
                startedPastDeadline.incrementAndGet();
            }
        }
        try {
            serviceTime.spend(batch);
            executedBatches.incrementAndGet();
            executedRequests.addAndGet(batch.size());
            List<RowOutcome> outcomes = new ArrayList<>(batch.size());
            for (InferenceRequest request : batch) {
                Tensor input = request.input(INPUT).orElseThrow();
                ByteBuffer data = ((TensorData.FixedWidth) input.data()).buffer();
                if (failMarker != null && data.remaining() >= 4 && data.getFloat(0) == failMarker) {
                    outcomes.add(new RowOutcome.Failure(InferenceException.internal(
                            "model '" + metadata.name() + "' failed on a marked input", null)));
                } else {
                    Tensor output = new Tensor(OUTPUT, DataType.FP32, input.shape(), input.data());
                    outcomes.add(new RowOutcome.Success(List.of(output)));
                }
            }
            return outcomes;
        } finally {
            running.decrementAndGet();
        }
    }

    /** Number of requests whose batch ran to the end of its service time. */
    public long executedRequests() {
        return executedRequests.get();
    }

    /**
     * Number of requests whose batch started more than 20 ms after the request's deadline; the
     * scheduler must keep it 0.
     */
    public long startedPastDeadline() {
        return startedPastDeadline.get();
    }

    public long executedBatches() {
        return executedBatches.get();
    }

    /** Largest number of batches that were running at the same moment. */
    public int maxConcurrentRuns() {
        return maxRunning.get();
    }

    @Override
    public void close() {}
}
