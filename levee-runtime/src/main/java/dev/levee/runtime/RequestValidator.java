package dev.levee.runtime;

import dev.levee.core.InferenceException;
import dev.levee.core.InferenceRequest;
import dev.levee.core.ModelMetadata;
import dev.levee.core.Shapes;
import dev.levee.core.Tensor;
import dev.levee.core.TensorMetadata;
import java.util.HashSet;
import java.util.Set;

/**
 * Checks a request against a model's metadata before it may join a batch, so that a malformed
 * request fails alone with a message naming the input and what was expected.
 */
public final class RequestValidator {
    private RequestValidator() {}

    /** Throws an INVALID_ARGUMENT {@link InferenceException} if the request does not fit the model. */
    public static void validate(InferenceRequest request, Model model, int maxBatchSize) {
        ModelMetadata metadata = model.metadata();
        Set<String> seen = new HashSet<>();
        long batchSize = -1;
        for (Tensor input : request.inputs()) {
            if (!seen.add(input.name())) {
                throw InferenceException.invalid("input '" + input.name() + "' appears more than once");
            }
            TensorMetadata declared = metadata.input(input.name()).orElseThrow(() -> InferenceException.invalid(
                    "unexpected input '" + input.name() + "' for model '" + metadata.name()
                            + "' (expected: " + inputNames(metadata) + ")"));
            checkTensor(input, declared, model.batching());
            if (model.batching()) {
                long rows = input.shape()[0];
                if (batchSize >= 0 && rows != batchSize) {
                    throw InferenceException.invalid("input '" + input.name() + "' has batch size " + rows
                            + " but other inputs have " + batchSize + " (expected: the same first dimension)");
                }
                batchSize = rows;
            }
        }
        for (TensorMetadata declared : metadata.inputs()) {
            if (!seen.contains(declared.name())) {
                throw InferenceException.invalid("missing input '" + declared.name() + "' for model '"
                        + metadata.name() + "' (expected: " + inputNames(metadata) + ")");
            }
        }
        if (model.batching() && batchSize > maxBatchSize) {
            throw InferenceException.invalid("batch size " + batchSize + " exceeds the max batch size "
                    + maxBatchSize + " of model '" + metadata.name() + "'; split the request");
        }
        for (String output : request.outputs()) {
            if (metadata.output(output).isEmpty()) {
                throw InferenceException.invalid("unknown output '" + output + "' requested from model '"
                        + metadata.name() + "'");
            }
        }
        model.checkRequest(request);
    }

    private static void checkTensor(Tensor input, TensorMetadata declared, boolean batching) {
        String name = input.name();
        if (input.datatype() != declared.datatype()) {
            throw InferenceException.invalid("input '" + name + "' has datatype " + input.datatype()
                    + " (expected: " + declared.datatype() + ")");
        }
        long[] shape = input.shape();
        long[] expected = declared.shape();
        for (long dim : shape) {
            if (dim < 0) {
                throw InferenceException.invalid("input '" + name + "' has shape " + Shapes.format(shape)
                        + " (expected: no negative dimension)");
            }
        }
        if (batching && shape.length == 0) {
            throw InferenceException.invalid("input '" + name + "' is a scalar (expected: shape "
                    + Shapes.format(expected) + " with the batch size first)");
        }
        if (!Shapes.matches(expected, shape)) {
            throw InferenceException.invalid("input '" + name + "' has shape " + Shapes.format(shape)
                    + " (expected: " + Shapes.format(expected) + ", where -1 is any size)");
        }
        long expectedCount = Shapes.elementCount(shape);
        if (expectedCount < 0) {
            throw InferenceException.invalid("input '" + name + "' has shape " + Shapes.format(shape)
                    + ", whose element count overflows a 64-bit integer");
        }
        long actualCount = input.data().elementCount();
        if (expectedCount != actualCount) {
            throw InferenceException.invalid("input '" + name + "' has shape " + Shapes.format(shape)
                    + ", which holds " + expectedCount + " elements, but its data has " + actualCount);
        }
    }

    private static String inputNames(ModelMetadata metadata) {
        return metadata.inputs().stream().map(TensorMetadata::name).toList().toString();
    }
}
