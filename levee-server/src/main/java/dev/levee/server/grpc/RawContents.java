package dev.levee.server.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.levee.core.DataType;
import dev.levee.core.InferenceException;
import dev.levee.core.TensorData;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts between tensor data and the raw layout of {@code raw_input_contents} and
 * {@code raw_output_contents}: fixed-width elements as little-endian values, and each BYTES
 * element as a 4-byte little-endian unsigned length followed by that many bytes.
 */
final class RawContents {
    private static final int LENGTH_PREFIX_BYTES = 4;

    private RawContents() {}

    /** Reads the raw content of input {@code input}; throws INVALID_ARGUMENT for a bad layout. */
    static TensorData decode(String input, DataType type, ByteString raw) {
        if (type == DataType.BYTES) {
            return decodeStrings(input, raw);
        }
        if (raw.size() % type.byteSize() != 0) {
            throw InferenceException.invalid("input '" + input + "' has " + raw.size()
                    + " bytes of raw content, which is not a multiple of " + type.byteSize()
                    + " bytes per " + type + " element");
        }
        // slice() so the elements start at position 0, as TensorData.FixedWidth expects.
        return new TensorData.FixedWidth(type, raw.asReadOnlyByteBuffer().slice());
    }

    private static TensorData decodeStrings(String input, ByteString raw) {
        ByteBuffer buffer = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        List<byte[]> elements = new ArrayList<>();
        while (buffer.hasRemaining()) {
            if (buffer.remaining() < LENGTH_PREFIX_BYTES) {
                throw InferenceException.invalid("input '" + input + "' raw content ends inside the length of element "
                        + elements.size() + " (expected: a 4-byte little-endian length before each element)");
            }
            long length = Integer.toUnsignedLong(buffer.getInt());
            if (length > buffer.remaining()) {
                throw InferenceException.invalid("input '" + input + "' raw content gives element " + elements.size()
                        + " a length of " + length + " bytes, but only " + buffer.remaining() + " bytes follow");
            }
            byte[] element = new byte[(int) length];
            buffer.get(element);
            elements.add(element);
        }
        return new TensorData.Strings(elements.toArray(byte[][]::new));
    }

    /** Writes tensor data in the raw layout. */
    static ByteString encode(TensorData data) {
        return switch (data) {
            case TensorData.FixedWidth fixed -> ByteString.copyFrom(fixed.buffer().duplicate());
            case TensorData.Strings strings -> encodeStrings(strings.elements());
        };
    }

    private static ByteString encodeStrings(byte[][] elements) {
        long size = 0;
        for (byte[] element : elements) {
            size += LENGTH_PREFIX_BYTES + element.length;
        }
        if (size > Integer.MAX_VALUE) {
            throw InferenceException.internal("output of " + size + " bytes is too large for one gRPC message", null);
        }
        ByteBuffer buffer = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        for (byte[] element : elements) {
            buffer.putInt(element.length);
            buffer.put(element);
        }
        // The array is new and not shared, so wrapping it without a copy is safe.
        return UnsafeByteOperations.unsafeWrap(buffer.array());
    }
}
