package dev.levee.server.grpc;

import dev.levee.core.DataType;
import dev.levee.core.InferenceException;
import dev.levee.core.InferenceRequest;
import dev.levee.core.Tensor;
import dev.levee.core.TensorData;
import dev.levee.server.grpc.proto.ModelInferRequest;
import dev.levee.server.grpc.proto.ModelInferRequest.InferInputTensor;
import dev.levee.server.grpc.proto.ModelInferRequest.InferRequestedOutputTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Decodes a {@link ModelInferRequest} into the protocol-neutral {@link InferenceRequest}. Input
 * data comes either from each input's typed {@code contents} or, for all inputs at once, from
 * {@code raw_input_contents}; a request that mixes the two is rejected.
 *
 * <p>Input and requested-output parameters are read for validity but not used: no model of a
 * node takes per-tensor parameters yet.
 */
final class InferRequestDecoder {
    private InferRequestDecoder() {}

    /** Throws an INVALID_ARGUMENT {@link InferenceException} naming what is wrong. */
    static InferenceRequest decode(ModelInferRequest message, long deadlineNanos) {
        boolean raw = usesRawContents(message);
        if (raw && message.getRawInputContentsCount() != message.getInputsCount()) {
            throw InferenceException.invalid("request has " + message.getInputsCount() + " inputs but "
                    + message.getRawInputContentsCount() + " raw_input_contents (expected: one per input, in order)");
        }
        List<Tensor> inputs = new ArrayList<>(message.getInputsCount());
        for (int i = 0; i < message.getInputsCount(); i++) {
            inputs.add(decodeInput(message, i, raw));
        }
        List<String> outputs = message.getOutputsList().stream().map(InferRequestedOutputTensor::getName).toList();
        return new InferenceRequest(message.getId(), message.getModelName(), message.getModelVersion(), inputs,
                outputs, InferParameters.decode(message.getParametersMap()), deadlineNanos);
    }

    /** Returns whether the request carries its input data in raw_input_contents. */
    static boolean usesRawContents(ModelInferRequest message) {
        return message.getRawInputContentsCount() > 0;
    }

    private static Tensor decodeInput(ModelInferRequest message, int index, boolean raw) {
        InferInputTensor input = message.getInputs(index);
        String name = input.getName();
        if (name.isEmpty()) {
            throw InferenceException.invalid("inputs[" + index + "] has no name");
        }
        DataType type = DataType.fromProtocolName(input.getDatatype()).orElseThrow(() -> InferenceException.invalid(
                "input '" + name + "' has unknown datatype '" + input.getDatatype() + "' (expected one of "
                        + Arrays.toString(DataType.values()) + ")"));
        long[] shape = shape(name, input);
        InferParameters.decode(input.getParametersMap());
        TensorData data;
        if (raw) {
            if (input.hasContents()) {
                throw InferenceException.invalid("input '" + name + "' sets contents although the request uses"
                        + " raw_input_contents (expected: one or the other for all inputs)");
            }
            data = RawContents.decode(name, type, message.getRawInputContents(index));
        } else {
            data = TypedContents.decode(name, type, input.getContents());
        }
        return new Tensor(name, type, shape, data);
    }

    private static long[] shape(String name, InferInputTensor input) {
        long[] shape = new long[input.getShapeCount()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = input.getShape(i);
            if (shape[i] < 0) {
                throw InferenceException.invalid("input '" + name + "' has shape dimension " + shape[i]
                        + " (expected: a non-negative integer)");
            }
        }
        return shape;
    }
}
