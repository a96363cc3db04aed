package dev.levee.server.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.levee.core.DataType;
import dev.levee.core.InferenceException;
import dev.levee.core.RawTensorData;
import dev.levee.core.TensorData;
import java.nio.ByteBuffer;

/**
 * Converts between tensor data and {@code raw_input_contents} and {@code raw_output_contents},
 * which use the layout of {@link RawTensorData}.
 */
final class RawContents {
    private static final String SOURCE = "raw content";

    private RawContents() {}

    /** Reads the raw content of input {@code input}; throws INVALID_ARGUMENT for a bad layout. */
    static TensorData decode(String input, DataType type, ByteString raw) {
        return RawTensorData.decode(input, SOURCE, type, raw.asReadOnlyByteBuffer());
    }

    /** Writes tensor data in the raw layout. */
    static ByteString encode(TensorData data) {
        if (data instanceof TensorData.FixedWidth fixed) {
            return ByteString.copyFrom(fixed.buffer().duplicate());
        }
        long size = RawTensorData.byteSize(data);
        if (size > Integer.MAX_VALUE) {
            throw InferenceException.internal("output of " + size + " bytes is too large for one gRPC message", null);
        }
        ByteBuffer buffer = ByteBuffer.allocate((int) size);
        RawTensorData.write(data, buffer);
        // The array is new and not shared, so wrapping it without a copy is safe.
        return UnsafeByteOperations.unsafeWrap(buffer.array());
    }
}
