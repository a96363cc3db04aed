package dev.levee.server;

import com.google.protobuf.ByteString;
import dev.levee.server.grpc.proto.InferTensorContents;
import dev.levee.server.grpc.proto.ModelInferRequest;
import dev.levee.server.grpc.proto.ModelInferRequest.InferInputTensor;
import dev.levee.server.grpc.proto.ModelInferResponse;
import dev.levee.server.grpc.proto.ModelInferResponse.InferOutputTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** ModelInfer request messages built the way a client builds them, and readers for responses. */
final class GrpcRequests {
    private GrpcRequests() {}

    /** An input tensor without data, which the caller adds as contents or raw. */
    static InferInputTensor.Builder input(String name, String datatype, long... shape) {
        InferInputTensor.Builder input = InferInputTensor.newBuilder().setName(name).setDatatype(datatype);
        for (long dim : shape) {
            input.addShape(dim);
        }
        return input;
    }

    /** One row of the synthetic model's FP32 input, in typed contents. */
    static ModelInferRequest.Builder typedSynthetic(float... row) {
        InferTensorContents.Builder contents = InferTensorContents.newBuilder();
        for (float value : row) {
            contents.addFp32Contents(value);
        }
        return ModelInferRequest.newBuilder()
                .setModelName("synthetic")
                .addInputs(input("INPUT0", "FP32", 1, row.length).setContents(contents));
    }

    /** One row of the synthetic model's FP32 input, in raw contents. */
    static ModelInferRequest.Builder rawSynthetic(float... row) {
        return ModelInferRequest.newBuilder()
                .setModelName("synthetic")
                .addInputs(input("INPUT0", "FP32", 1, row.length))
                .addRawInputContents(rawFloats(row));
    }

    static ByteString rawFloats(float... values) {
        ByteBuffer buffer = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            buffer.putFloat(value);
        }
        return ByteString.copyFrom(buffer.array());
    }

    /** Strings in the raw BYTES layout: each a 4-byte little-endian length, then its UTF-8 bytes. */
    static ByteString rawStrings(List<String> values) {
        ByteString.Output out = ByteString.newOutput();
        for (String value : values) {
            byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
            byte[] length = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(bytes.length).array();
            out.write(length, 0, 4);
            out.write(bytes, 0, bytes.length);
        }
        return out.toByteString();
    }

    /** Returns the FP32 elements of output {@code index}, from raw or typed contents, whichever the response used. */
    static float[] floats(ModelInferResponse response, int index) {
        InferOutputTensor output = response.getOutputs(index);
        if (response.getRawOutputContentsCount() > 0) {
            ByteBuffer raw = response.getRawOutputContents(index).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            float[] values = new float[raw.remaining() / 4];
            raw.asFloatBuffer().get(values);
            return values;
        }
        List<Float> typed = output.getContents().getFp32ContentsList();
        float[] values = new float[typed.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = typed.get(i);
        }
        return values;
    }
}
