package dev.levee.server.rest;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.levee.core.DataType;
import dev.levee.core.InferenceException;
import dev.levee.core.TensorData;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Collects the JSON elements of one input, flat or nested, straight into the tensor's binary
 * layout, checking that each element fits the declared datatype.
 */
final class ElementWriter {
    private static final BigInteger UINT64_MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);

    /** Largest finite half-precision value. */
    private static final double FP16_MAX = 65504;

    private final String input;
    private final DataType type;
    private ByteBuffer buffer;
    private final List<byte[]> strings;
    private long count;

    ElementWriter(String input, DataType type) {
        this.input = input;
        this.type = type;
        if (type == DataType.BYTES) {
            this.strings = new ArrayList<>();
        } else {
            this.strings = null;
            this.buffer = ByteBuffer.allocate(64 * type.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    /** Reads the value at the parser's current token: one element or a (nested) array of them. */
    void read(JsonParser parser) throws IOException {
        JsonToken token = parser.currentToken();
        if (token == JsonToken.START_ARRAY) {
            while (parser.nextToken() != JsonToken.END_ARRAY) {
                if (parser.currentToken() == null) {
                    throw InferenceException.invalid("input '" + input + "': data ends before its array closes");
                }
                read(parser);
            }
            return;
        }
        writeElement(parser, token);
        count++;
    }

    TensorData finish() {
        if (type == DataType.BYTES) {
            return new TensorData.Strings(strings.toArray(byte[][]::new));
        }
        buffer.flip();
        return new TensorData.FixedWidth(type, buffer);
    }

    private void writeElement(JsonParser parser, JsonToken token) throws IOException {
        if (type == DataType.BYTES) {
            if (token != JsonToken.VALUE_STRING) {
                throw mismatch(token, "a string");
            }
            strings.add(parser.getText().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return;
        }
        ensureRoom();
        switch (type) {
            case BOOL -> {
                if (token != JsonToken.VALUE_TRUE && token != JsonToken.VALUE_FALSE) {
                    throw mismatch(token, "true or false");
                }
                buffer.put((byte) (token == JsonToken.VALUE_TRUE ? 1 : 0));
            }
            case INT8 -> buffer.put((byte) integer(parser, token, Byte.MIN_VALUE, Byte.MAX_VALUE));
            case UINT8 -> buffer.put((byte) integer(parser, token, 0, 0xFF));
            case INT16 -> buffer.putShort((short) integer(parser, token, Short.MIN_VALUE, Short.MAX_VALUE));
            case UINT16 -> buffer.putShort((short) integer(parser, token, 0, 0xFFFF));
            case INT32 -> buffer.putInt((int) integer(parser, token, Integer.MIN_VALUE, Integer.MAX_VALUE));
            case UINT32 -> buffer.putInt((int) integer(parser, token, 0, 0xFFFF_FFFFL));
            case INT64 -> buffer.putLong(integer(parser, token, Long.MIN_VALUE, Long.MAX_VALUE));
            case UINT64 -> buffer.putLong(unsigned64(parser, token));
            case FP16 -> buffer.putShort(Float.floatToFloat16((float) real(parser, token, FP16_MAX)));
            case BF16 -> buffer.putShort(toBfloat16((float) real(parser, token, Float.MAX_VALUE)));
            case FP32 -> buffer.putFloat((float) real(parser, token, Float.MAX_VALUE));
            case FP64 -> buffer.putDouble(real(parser, token, Double.MAX_VALUE));
            case BYTES -> throw new IllegalStateException("BYTES handled above");
        }
    }

    private long integer(JsonParser parser, JsonToken token, long min, long max) throws IOException {
        if (token != JsonToken.VALUE_NUMBER_INT) {
            throw mismatch(token, "an integer");
        }
        if (parser.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            throw outOfRange(parser.getText());
        }
        long value = parser.getLongValue();
        if (value < min || value > max) {
            throw outOfRange(parser.getText());
        }
        return value;
    }

    private long unsigned64(JsonParser parser, JsonToken token) throws IOException {
        if (token != JsonToken.VALUE_NUMBER_INT) {
            throw mismatch(token, "an integer");
        }
        BigInteger value = parser.getBigIntegerValue();
        if (value.signum() < 0 || value.compareTo(UINT64_MAX) > 0) {
            throw outOfRange(parser.getText());
        }
        return value.longValue();
    }

    /** Reads a number that the datatype can hold: larger magnitudes would silently become infinity. */
    private double real(JsonParser parser, JsonToken token, double max) throws IOException {
        if (token != JsonToken.VALUE_NUMBER_INT && token != JsonToken.VALUE_NUMBER_FLOAT) {
            throw mismatch(token, "a number");
        }
        double value = parser.getDoubleValue();
        if (!(Math.abs(value) <= max)) {
            throw outOfRange(parser.getText());
        }
        return value;
    }

    /** Rounds to the nearest bfloat16, ties to even, keeping NaN a NaN. */
    private static short toBfloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    private void ensureRoom() {
        if (buffer.remaining() >= type.byteSize()) {
            return;
        }
        ByteBuffer larger = ByteBuffer.allocate(buffer.capacity() * 2).order(ByteOrder.LITTLE_ENDIAN);
        buffer.flip();
        larger.put(buffer);
        buffer = larger;
    }

    private InferenceException mismatch(JsonToken token, String expected) {
        return InferenceException.invalid("input '" + input + "' element " + count + " is " + describe(token)
                + " (expected: " + expected + " for datatype " + type + ")");
    }

    private InferenceException outOfRange(String text) {
        return InferenceException.invalid("input '" + input + "' element " + count + " is " + text
                + ", which is out of range for datatype " + type);
    }

    private static String describe(JsonToken token) {
        return switch (token) {
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            case START_OBJECT -> "an object";
            default -> token.asString() == null ? token.name() : token.asString();
        };
    }
}
