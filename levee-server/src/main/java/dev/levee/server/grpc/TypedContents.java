package dev.levee.server.grpc;

import com.google.protobuf.ByteString;
import dev.levee.core.DataType;
import dev.levee.core.InferenceException;
import dev.levee.core.TensorData;
import dev.levee.server.grpc.proto.InferTensorContents;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts between tensor data and {@link InferTensorContents}, where each datatype has one
 * repeated field: INT8 to INT32 share {@code int_contents}, UINT8 to UINT32 share
 * {@code uint_contents}. FP16 and BF16 have no field and travel only as raw contents.
 */
final class TypedContents {
    /** Largest Java array, a little under 2 GiB. */
    private static final int MAX_ARRAY_BYTES = Integer.MAX_VALUE - 8;

    private TypedContents() {}

    /** Returns whether a datatype has a typed field, so that it can be sent without raw contents. */
    static boolean hasField(DataType type) {
        return type != DataType.FP16 && type != DataType.BF16;
    }

    /**
     * Reads the contents of input {@code input}. Throws INVALID_ARGUMENT when a field other than
     * the one for {@code type} is set, or an element is out of range for {@code type}.
     */
    static TensorData decode(String input, DataType type, InferTensorContents contents) {
        if (!hasField(type)) {
            throw InferenceException.invalid("input '" + input + "' has datatype " + type
                    + ", which has no typed contents field (expected: its data in raw_input_contents)");
        }
        requireOnlyField(input, type, contents);
        InferTensorContents c = contents;
        return switch (type) {
            case BOOL -> fixed(input, type, c.getBoolContentsCount(),
                    (b, i) -> b.put((byte) (c.getBoolContents(i) ? 1 : 0)));
            case INT8 -> fixed(input, type, c.getIntContentsCount(),
                    (b, i) -> b.put((byte) signed(input, type, i, c.getIntContents(i), Byte.MIN_VALUE,
                            Byte.MAX_VALUE)));
            case INT16 -> fixed(input, type, c.getIntContentsCount(),
                    (b, i) -> b.putShort((short) signed(input, type, i, c.getIntContents(i), Short.MIN_VALUE,
                            Short.MAX_VALUE)));
            case INT32 -> fixed(input, type, c.getIntContentsCount(), (b, i) -> b.putInt(c.getIntContents(i)));
            case INT64 -> fixed(input, type, c.getInt64ContentsCount(), (b, i) -> b.putLong(c.getInt64Contents(i)));
            case UINT8 -> fixed(input, type, c.getUintContentsCount(),
                    (b, i) -> b.put((byte) unsigned(input, type, i, c.getUintContents(i), 0xFF)));
            case UINT16 -> fixed(input, type, c.getUintContentsCount(),
                    (b, i) -> b.putShort((short) unsigned(input, type, i, c.getUintContents(i), 0xFFFF)));
            case UINT32 -> fixed(input, type, c.getUintContentsCount(), (b, i) -> b.putInt(c.getUintContents(i)));
            case UINT64 -> fixed(input, type, c.getUint64ContentsCount(), (b, i) -> b.putLong(c.getUint64Contents(i)));
            case FP32 -> fixed(input, type, c.getFp32ContentsCount(), (b, i) -> b.putFloat(c.getFp32Contents(i)));
            case FP64 -> fixed(input, type, c.getFp64ContentsCount(), (b, i) -> b.putDouble(c.getFp64Contents(i)));
            case BYTES -> new TensorData.Strings(c.getBytesContentsList().stream()
                    .map(ByteString::toByteArray)
                    .toArray(byte[][]::new));
            case FP16, BF16 -> throw new IllegalStateException(type + " has no typed field");
        };
    }

    /** Writes tensor data of a datatype that {@link #hasField has a typed field}. */
    static InferTensorContents encode(DataType type, TensorData data) {
        InferTensorContents.Builder contents = InferTensorContents.newBuilder();
        if (data instanceof TensorData.Strings strings) {
            for (byte[] element : strings.elements()) {
                contents.addBytesContents(ByteString.copyFrom(element));
            }
            return contents.build();
        }
        // Positions are relative to the buffer's position, where the first element starts.
        ByteBuffer buffer = ((TensorData.FixedWidth) data).buffer();
        int base = buffer.position();
        int count = (int) data.elementCount();
        for (int i = 0; i < count; i++) {
            switch (type) {
                case BOOL -> contents.addBoolContents(buffer.get(base + i) != 0);
                case INT8 -> contents.addIntContents(buffer.get(base + i));
                case INT16 -> contents.addIntContents(buffer.getShort(base + 2 * i));
                case INT32 -> contents.addIntContents(buffer.getInt(base + 4 * i));
                case INT64 -> contents.addInt64Contents(buffer.getLong(base + 8 * i));
                case UINT8 -> contents.addUintContents(Byte.toUnsignedInt(buffer.get(base + i)));
                case UINT16 -> contents.addUintContents(Short.toUnsignedInt(buffer.getShort(base + 2 * i)));
                case UINT32 -> contents.addUintContents(buffer.getInt(base + 4 * i));
                case UINT64 -> contents.addUint64Contents(buffer.getLong(base + 8 * i));
                case FP32 -> contents.addFp32Contents(buffer.getFloat(base + 4 * i));
                case FP64 -> contents.addFp64Contents(buffer.getDouble(base + 8 * i));
                case FP16, BF16, BYTES -> throw new IllegalStateException(type + " has no typed field");
            }
        }
        return contents.build();
    }

    private static void requireOnlyField(String input, DataType type, InferTensorContents contents) {
        List<String> set = new ArrayList<>();
        addIfSet(set, "bool_contents", contents.getBoolContentsCount());
        addIfSet(set, "int_contents", contents.getIntContentsCount());
        addIfSet(set, "int64_contents", contents.getInt64ContentsCount());
        addIfSet(set, "uint_contents", contents.getUintContentsCount());
        addIfSet(set, "uint64_contents", contents.getUint64ContentsCount());
        addIfSet(set, "fp32_contents", contents.getFp32ContentsCount());
        addIfSet(set, "fp64_contents", contents.getFp64ContentsCount());
        addIfSet(set, "bytes_contents", contents.getBytesContentsCount());
        String expected = fieldName(type);
        set.remove(expected);
        if (!set.isEmpty()) {
            throw InferenceException.invalid("input '" + input + "' has datatype " + type + " but sets " + set
                    + " (expected: only " + expected + ")");
        }
    }

    private static void addIfSet(List<String> set, String field, int count) {
        if (count > 0) {
            set.add(field);
        }
    }

    private static String fieldName(DataType type) {
        return switch (type) {
            case BOOL -> "bool_contents";
            case INT8, INT16, INT32 -> "int_contents";
            case INT64 -> "int64_contents";
            case UINT8, UINT16, UINT32 -> "uint_contents";
            case UINT64 -> "uint64_contents";
            case FP32 -> "fp32_contents";
            case FP64 -> "fp64_contents";
            case BYTES -> "bytes_contents";
            case FP16, BF16 -> "raw_input_contents";
        };
    }

    private static int signed(String input, DataType type, int index, int value, int min, int max) {
        if (value < min || value > max) {
            throw outOfRange(input, type, index, Integer.toString(value));
        }
        return value;
    }

    /** Checks a uint32 field value, which Java stores as a signed int with the same bits. */
    private static int unsigned(String input, DataType type, int index, int value, int max) {
        if (Integer.toUnsignedLong(value) > max) {
            throw outOfRange(input, type, index, Integer.toUnsignedString(value));
        }
        return value;
    }

    private static InferenceException outOfRange(String input, DataType type, int index, String value) {
        return InferenceException.invalid("input '" + input + "' element " + index + " is " + value
                + ", which is out of range for datatype " + type);
    }

    @FunctionalInterface
    private interface ElementWriter {
        void write(ByteBuffer buffer, int index);
    }

    private static TensorData fixed(String input, DataType type, int count, ElementWriter writer) {
        // A varint element can take one byte on the wire but eight in the buffer, so a message
        // under the size limit can still need a larger array than Java allows.
        long bytes = (long) count * type.byteSize();
        if (bytes > MAX_ARRAY_BYTES) {
            throw InferenceException.invalid("input '" + input + "' has " + count + " elements of datatype " + type
                    + ", which take " + bytes + " bytes (expected: at most " + MAX_ARRAY_BYTES + " bytes per tensor)");
        }
        ByteBuffer buffer = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) {
            writer.write(buffer, i);
        }
        buffer.flip();
        return new TensorData.FixedWidth(type, buffer);
    }
}
