package dev.levee.server.grpc;

import dev.levee.core.InferenceResponse;
import dev.levee.core.Tensor;
import dev.levee.server.grpc.proto.ModelInferResponse;
import dev.levee.server.grpc.proto.ModelInferResponse.InferOutputTensor;

/**
 * Encodes an {@link InferenceResponse} as a {@link ModelInferResponse}. Outputs go in
 * {@code raw_output_contents} when the request sent raw inputs, so a client that sends raw
 * contents, as tritonclient does, gets raw contents back. Otherwise they go in typed contents,
 * except that an FP16 or BF16 output has no typed field, so a response that contains one is raw.
 */
final class InferResponseEncoder {
    private InferResponseEncoder() {}

    static ModelInferResponse encode(InferenceResponse response, boolean rawRequested) {
        boolean raw = rawRequested
                || response.outputs().stream().anyMatch(t -> !TypedContents.hasField(t.datatype()));
        ModelInferResponse.Builder message = ModelInferResponse.newBuilder()
                .setModelName(response.model())
                .setModelVersion(response.version())
                .setId(response.id())
                .putAllParameters(InferParameters.encode(response.parameters()));
        for (Tensor output : response.outputs()) {
            InferOutputTensor.Builder tensor = InferOutputTensor.newBuilder()
                    .setName(output.name())
                    .setDatatype(output.datatype().name());
            for (long dim : output.shape()) {
                tensor.addShape(dim);
            }
            if (raw) {
                message.addRawOutputContents(RawContents.encode(output.data()));
            } else {
                tensor.setContents(TypedContents.encode(output.datatype(), output.data()));
            }
            message.addOutputs(tensor);
        }
        return message.build();
    }
}
