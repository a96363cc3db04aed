package dev.levee.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.levee.core.DataType;
import dev.levee.core.Tensor;
import dev.levee.core.TensorData;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Tensors written and read the way a client does it: as JSON {@code data} arrays and in the raw
 * layout of the binary extension and gRPC raw contents. Written apart from the node's own codecs,
 * so a test client does not share a mistake with the code under test.
 */
final class WireTensors {
    private WireTensors() {}

    /** Returns the tensor's elements as a flat JSON array. */
    static ArrayNode toJson(Tensor tensor) {
        ArrayNode data = JsonNodeFactory.instance.arrayNode();
        if (tensor.data() instanceof TensorData.Strings strings) {
            for (byte[] element : strings.elements()) {
                data.add(new String(element, StandardCharsets.UTF_8));
            }
            return data;
        }
        ByteBuffer buffer = ((TensorData.FixedWidth) tensor.data()).buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        while (buffer.hasRemaining()) {
            switch (tensor.datatype()) {
                case BOOL -> data.add(buffer.get() != 0);
                case INT8 -> data.add(buffer.get());
                case UINT8 -> data.add(Byte.toUnsignedInt(buffer.get()));
                case INT16 -> data.add(buffer.getShort());
                case UINT16 -> data.add(Short.toUnsignedInt(buffer.getShort()));
                case INT32 -> data.add(buffer.getInt());
                case UINT32 -> data.add(Integer.toUnsignedLong(buffer.getInt()));
                case INT64 -> data.add(buffer.getLong());
                case UINT64 -> data.add(new BigInteger(Long.toUnsignedString(buffer.getLong())));
                case FP16 -> data.add(Float.float16ToFloat(buffer.getShort()));
                case BF16 -> data.add(Float.intBitsToFloat(buffer.getShort() << 16));
                case FP32 -> data.add(buffer.getFloat());
                case FP64 -> data.add(buffer.getDouble());
                case BYTES -> throw new IllegalStateException("BYTES is not fixed-width");
            }
        }
        return data;
    }

    /** Reads a JSON {@code data} array, flat or nested, as elements of {@code type}. */
    static TensorData fromJson(DataType type, JsonNode data) {
        List<JsonNode> elements = new ArrayList<>();
        flatten(data, elements);
        if (type == DataType.BYTES) {
            return new TensorData.Strings(elements.stream()
                    .map(e -> e.asText().getBytes(StandardCharsets.UTF_8)).toArray(byte[][]::new));
        }
        ByteBuffer buffer = ByteBuffer.allocate(elements.size() * type.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (JsonNode element : elements) {
            switch (type) {
                case BOOL -> buffer.put((byte) (element.asBoolean() ? 1 : 0));
                case INT8, UINT8 -> buffer.put((byte) element.asLong());
                case INT16, UINT16 -> buffer.putShort((short) element.asLong());
                case INT32, UINT32 -> buffer.putInt((int) element.asLong());
                case INT64 -> buffer.putLong(element.asLong());
                case UINT64 -> buffer.putLong(element.bigIntegerValue().longValue());
                case FP16 -> buffer.putShort(Float.floatToFloat16(element.floatValue()));
                case BF16 -> buffer.putShort((short) (Float.floatToRawIntBits(element.floatValue()) >>> 16));
                case FP32 -> buffer.putFloat(element.floatValue());
                case FP64 -> buffer.putDouble(element.doubleValue());
                case BYTES -> throw new IllegalStateException("BYTES handled above");
            }
        }
        return new TensorData.FixedWidth(type, buffer.flip());
    }

    private static void flatten(JsonNode node, List<JsonNode> out) {
        if (node.isArray()) {
            node.forEach(child -> flatten(child, out));
        } else {
            out.add(node);
        }
    }

    /** Returns the tensor's elements in the raw layout: each BYTES element after its 4-byte length. */
    static byte[] toRaw(Tensor tensor) {
        if (tensor.data() instanceof TensorData.FixedWidth fixed) {
            ByteBuffer buffer = fixed.buffer().duplicate();
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            return bytes;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] element : ((TensorData.Strings) tensor.data()).elements()) {
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(element.length).array());
            out.writeBytes(element);
        }
        return out.toByteArray();
    }

    /** Reads elements of {@code type} from the raw layout. */
    static TensorData fromRaw(DataType type, byte[] raw) {
        if (type.isFixedWidth()) {
            return new TensorData.FixedWidth(type, ByteBuffer.wrap(raw));
        }
        ByteBuffer buffer = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        List<byte[]> elements = new ArrayList<>();
        while (buffer.hasRemaining()) {
            byte[] element = new byte[buffer.getInt()];
            buffer.get(element);
            elements.add(element);
        }
        return new TensorData.Strings(elements.toArray(byte[][]::new));
    }

    /** An INT32 tensor, for sending a datatype that a model does not declare. */
    static Tensor ofInts(String name, long[] shape, int... values) {
        ByteBuffer buffer = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int value : values) {
            buffer.putInt(value);
        }
        return new Tensor(name, DataType.INT32, shape, new TensorData.FixedWidth(DataType.INT32, buffer.flip()));
    }

    static Tensor ofStrings(String name, String... values) {
        byte[][] elements = new byte[values.length][];
        for (int i = 0; i < values.length; i++) {
            elements[i] = values[i].getBytes(StandardCharsets.UTF_8);
        }
        return Tensor.ofStrings(name, new long[] {values.length}, elements);
    }

    /** Returns the elements of an INT64 tensor. */
    static long[] longs(Tensor tensor) {
        ByteBuffer buffer = ((TensorData.FixedWidth) tensor.data()).buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long[] values = new long[buffer.remaining() / 8];
        buffer.asLongBuffer().get(values);
        return values;
    }
}
