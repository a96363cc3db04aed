package dev.levee.runtime;

import dev.levee.core.InferenceRequest;
import dev.levee.core.ModelMetadata;
import dev.levee.core.Tensor;
import dev.levee.core.TensorMetadata;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One loaded version of a model. The scheduler calls {@link #run} from one thread per model
 * instance, so implementations must allow concurrent runs when a model has several instances.
 */
public interface Model extends AutoCloseable {

    ModelMetadata metadata();

    /**
     * Returns whether requests are batched along the first dimension of every input and output.
     * A model that does not batch runs one request at a time and takes shapes exactly as declared.
     */
    boolean batching();

    /**
     * Checks what the generic validation cannot see, such as text that is not UTF-8. Throws
     * {@link dev.levee.core.InferenceException} with kind INVALID_ARGUMENT for a bad request.
     */
    default void checkRequest(InferenceRequest request) {}

    /**
     * Returns a key that is equal for requests that may share a batch. By default requests must
     * agree on every dimension but the first, since their inputs are concatenated along it.
     */
    default String batchKey(InferenceRequest request) {
        StringBuilder key = new StringBuilder();
        for (Tensor input : request.inputs()) {
            long[] shape = input.shape();
            for (int i = 1; i < shape.length; i++) {
                key.append(shape[i]).append(',');
            }
            key.append(';');
        }
        return key.toString();
    }

    /**
     * Returns the outputs of a request of zero rows, which the scheduler answers without a model
     * run, or empty when their shapes are unknown without one. By default each output gets its
     * declared shape with 0 rows, which works only when no other dimension has variable size.
     */
    default Optional<List<Tensor>> emptyOutputs(InferenceRequest request) {
        List<Tensor> outputs = new ArrayList<>();
        for (TensorMetadata output : metadata().outputs()) {
            long[] shape = output.shape();
            if (shape.length == 0) {
                return Optional.empty();
            }
            shape[0] = 0;
            for (long dim : shape) {
                if (dim < 0) {
                    return Optional.empty();
                }
            }
            outputs.add(Tensor.empty(output.name(), output.datatype(), shape));
        }
        return Optional.of(outputs);
    }

    /**
     * Runs a batch of {@code rows} rows of input the model makes up itself, to warm up its runtime
     * and let the scheduler measure service time before real requests arrive. Returns false, having
     * run nothing, when the model cannot make such input.
     */
    default boolean warmup(int rows) throws Exception {
        return false;
    }

    /**
     * Runs one batch and returns one outcome per request, in the batch's order. Throws when the
     * whole batch failed; the caller then fails every request of the batch.
     */
    List<RowOutcome> run(List<InferenceRequest> batch) throws Exception;

    @Override
    void close();
}
