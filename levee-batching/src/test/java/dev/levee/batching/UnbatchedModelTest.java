package dev.levee.batching;

import static org.assertj.core.api.Assertions.assertThat;

import dev.levee.core.Clock;
import dev.levee.core.DataType;
import dev.levee.core.InferenceRequest;
import dev.levee.core.InferenceResponse;
import dev.levee.core.ModelMetadata;
import dev.levee.core.Tensor;
import dev.levee.core.TensorMetadata;
import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.Model;
import dev.levee.runtime.ModelConfig;
import dev.levee.runtime.RowOutcome;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class UnbatchedModelTest {

    @Test
    void unbatchedModelRunsMultiRowRequest() throws Exception {
        ModelConfig config = ModelConfig.defaults("echo", "synthetic").withMaxBatchSize(0);
        try (BatchScheduler scheduler = new BatchScheduler(new LoadedModel(config, "1", new UnbatchedEcho()),
                Clock.SYSTEM, AdmissionPolicy.boundedQueue(), SchedulerListener.NONE)) {
            InferenceResponse first = scheduler.submit(request(3)).get(10, TimeUnit.SECONDS);
            InferenceResponse second = scheduler.submit(request(2)).get(10, TimeUnit.SECONDS);

            assertThat(first.outputs().getFirst().shape()).containsExactly(3);
            assertThat(second.outputs().getFirst().shape()).containsExactly(2);
        }
    }

    private static InferenceRequest request(int rows) {
        Tensor input = Tensor.ofFloats("x", new long[] {rows}, new float[rows]);
        return new InferenceRequest("", "echo", "", List.of(input), List.of(), Map.of(),
                InferenceRequest.NO_DEADLINE);
    }

    /** A model that returns its input unchanged and does not batch, like one served with max_batch_size 0. */
    private static final class UnbatchedEcho implements Model {
        @Override
        public ModelMetadata metadata() {
            List<TensorMetadata> tensors = List.of(new TensorMetadata("x", DataType.FP32, new long[] {-1}));
            return new ModelMetadata("echo", List.of("1"), "synthetic", tensors, tensors);
        }

        @Override
        public boolean batching() {
            return false;
        }

        @Override
        public List<RowOutcome> run(List<InferenceRequest> batch) {
            List<RowOutcome> outcomes = new ArrayList<>();
            for (InferenceRequest request : batch) {
                outcomes.add(new RowOutcome.Success(request.inputs()));
            }
            return outcomes;
        }

        @Override
        public void close() {}
    }
}
