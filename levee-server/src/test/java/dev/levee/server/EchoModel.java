package dev.levee.server;

import dev.levee.core.DataType;
import dev.levee.core.InferenceRequest;
import dev.levee.core.ModelMetadata;
import dev.levee.core.Tensor;
import dev.levee.core.TensorMetadata;
import dev.levee.runtime.Model;
import dev.levee.runtime.RowOutcome;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A test model with one input of each given datatype, named after it in lower case ({@code fp16},
 * {@code bytes}, ...), each of any shape. It returns each input unchanged as the output of the same
 * name with {@code _out} appended, so a test sees exactly what reached the model. It does not batch.
 */
final class EchoModel implements Model {
    private final ModelMetadata metadata;

    EchoModel(String name, DataType... types) {
        List<TensorMetadata> inputs = new ArrayList<>();
        List<TensorMetadata> outputs = new ArrayList<>();
        for (DataType type : types) {
            long[] shape = type == DataType.BYTES ? new long[] {-1} : new long[] {-1, -1};
            inputs.add(new TensorMetadata(input(type), type, shape));
            outputs.add(new TensorMetadata(output(type), type, shape));
        }
        metadata = new ModelMetadata(name, List.of("1"), "test", inputs, outputs);
    }

    static String input(DataType type) {
        return type.name().toLowerCase(Locale.ROOT);
    }

    static String output(DataType type) {
        return input(type) + "_out";
    }

    @Override
    public ModelMetadata metadata() {
        return metadata;
    }

    @Override
    public boolean batching() {
        return false;
    }

    @Override
    public List<RowOutcome> run(List<InferenceRequest> batch) {
        List<RowOutcome> outcomes = new ArrayList<>();
        for (InferenceRequest request : batch) {
            List<Tensor> outputs = new ArrayList<>();
            for (Tensor input : request.inputs()) {
                outputs.add(new Tensor(input.name() + "_out", input.datatype(), input.shape(), input.data()));
            }
            outcomes.add(new RowOutcome.Success(outputs));
        }
        return outcomes;
    }

    @Override
    public void close() {}
}
