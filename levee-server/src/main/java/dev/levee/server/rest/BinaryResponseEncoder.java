package dev.levee.server.rest;

import dev.levee.core.InferenceException;
import dev.levee.core.InferenceResponse;
import dev.levee.core.RawTensorData;
import dev.levee.core.Tensor;
import io.vertx.core.buffer.Buffer;
import java.nio.ByteBuffer;

/**
 * Encodes a REST inference response body. When the request asks for outputs in binary form, the
 * body is the JSON object followed by the raw data of those outputs in output order. Otherwise the
 * body is the JSON object alone.
 */
final class BinaryResponseEncoder {
    static final String OCTET_STREAM = "application/octet-stream";

    /**
     * An encoded body. When it has binary data, {@code jsonLength} goes in the
     * {@code Inference-Header-Content-Length} header.
     */
    record Encoded(Buffer body, int jsonLength, boolean hasBinaryData) {
        /** Returns the content type of the body: JSON unless binary data follows the JSON object. */
        String contentType() {
            return hasBinaryData ? OCTET_STREAM : "application/json";
        }
    }

    private BinaryResponseEncoder() {}

    static Encoded encode(InferenceResponse response, BinaryOutputs binary) {
        byte[] json = JsonResponseEncoder.response(response, binary);
        long binaryBytes = 0;
        boolean hasBinaryData = false;
        for (Tensor output : response.outputs()) {
            if (binary.isBinary(output.name())) {
                hasBinaryData = true;
                binaryBytes += RawTensorData.byteSize(output.data());
            }
        }
        if (!hasBinaryData) {
            return new Encoded(Buffer.buffer(json), json.length, false);
        }
        if (json.length + binaryBytes > Integer.MAX_VALUE) {
            throw InferenceException.internal("response of " + (json.length + binaryBytes)
                    + " bytes is too large for one HTTP body", null);
        }
        ByteBuffer body = ByteBuffer.allocate(json.length + (int) binaryBytes);
        body.put(json);
        for (Tensor output : response.outputs()) {
            if (binary.isBinary(output.name())) {
                RawTensorData.write(output.data(), body);
            }
        }
        return new Encoded(Buffer.buffer(body.array()), json.length, true);
    }
}
