package dev.levee.core;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts between tensor data and the raw layout that the REST binary tensor extension and gRPC
 * {@code raw_input_contents} share: fixed-width elements as little-endian values in row-major
 * order, and each BYTES element as a 4-byte little-endian unsigned length followed by that many
 * bytes.
 */
public final class RawTensorData {
    /** Size of the length that precedes each BYTES element. */
    public static final int LENGTH_PREFIX_BYTES = 4;

    private RawTensorData() {}

    /**
     * Reads the raw data of input {@code input} from the buffer's position to its limit. A
     * fixed-width tensor wraps the buffer without a copy. {@code source} names where the bytes came
     * from in error messages, such as "raw content". Throws INVALID_ARGUMENT for a bad layout.
     */
    public static TensorData decode(String input, String source, DataType type, ByteBuffer raw) {
        if (type == DataType.BYTES) {
            return decodeStrings(input, source, raw.duplicate().order(ByteOrder.LITTLE_ENDIAN));
        }
        if (raw.remaining() % type.byteSize() != 0) {
            throw InferenceException.invalid("input '" + input + "' has " + raw.remaining() + " bytes of " + source
                    + ", which is not a multiple of " + type.byteSize() + " bytes per " + type + " element");
        }
        // slice() so the elements start at position 0, as TensorData.FixedWidth expects.
        return new TensorData.FixedWidth(type, raw.slice());
    }

    private static TensorData decodeStrings(String input, String source, ByteBuffer buffer) {
        List<byte[]> elements = new ArrayList<>();
        while (buffer.hasRemaining()) {
            if (buffer.remaining() < LENGTH_PREFIX_BYTES) {
                throw InferenceException.invalid("input '" + input + "' " + source + " ends inside the length of"
                        + " element " + elements.size() + " (expected: a 4-byte little-endian length before each"
                        + " element)");
            }
            long length = Integer.toUnsignedLong(buffer.getInt());
            if (length > buffer.remaining()) {
                throw InferenceException.invalid("input '" + input + "' " + source + " gives element "
                        + elements.size() + " a length of " + length + " bytes, but only " + buffer.remaining()
                        + " bytes follow");
            }
            byte[] element = new byte[(int) length];
            buffer.get(element);
            elements.add(element);
        }
        return new TensorData.Strings(elements.toArray(byte[][]::new));
    }

    /** Returns the size of the data in the raw layout, in bytes. */
    public static long byteSize(TensorData data) {
        return switch (data) {
            case TensorData.FixedWidth fixed -> fixed.buffer().remaining();
            case TensorData.Strings strings -> {
                long size = 0;
                for (byte[] element : strings.elements()) {
                    size += LENGTH_PREFIX_BYTES + element.length;
                }
                yield size;
            }
        };
    }

    /**
     * Writes the data in the raw layout at the target's position, which advances by
     * {@link #byteSize}. The target must have that much room.
     */
    public static void write(TensorData data, ByteBuffer target) {
        switch (data) {
            case TensorData.FixedWidth fixed -> target.put(fixed.buffer().duplicate());
            case TensorData.Strings strings -> {
                ByteOrder order = target.order();
                target.order(ByteOrder.LITTLE_ENDIAN);
                for (byte[] element : strings.elements()) {
                    target.putInt(element.length);
                    target.put(element);
                }
                target.order(order);
            }
        }
    }
}
