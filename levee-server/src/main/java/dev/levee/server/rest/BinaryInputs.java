package dev.levee.server.rest;

import dev.levee.core.DataType;
import dev.levee.core.InferenceException;
import dev.levee.core.RawTensorData;
import dev.levee.core.Shapes;
import dev.levee.core.TensorData;
import java.math.BigInteger;
import java.nio.ByteBuffer;

/**
 * The binary part of a REST request body: the bytes after the JSON object, which the inputs that
 * carry a {@code binary_data_size} parameter take in input order. Fixed-width data wraps the body
 * without a copy.
 */
final class BinaryInputs {
    static final String SIZE_PARAMETER = "binary_data_size";
    private static final String SOURCE = "binary data";

    private final byte[] body;
    private int position;

    /** The bytes of {@code body} from {@code start} to its end. */
    /** The whole request body, the JSON part included. */
    byte[] body() {
        return body;
    }

    BinaryInputs(byte[] body, int start) {
        this.body = body;
        this.position = start;
    }

    /**
     * Reads the data of input {@code input} from the next {@code size} bytes, where {@code size} is
     * the parameter's value as the JSON decoder produced it. Throws INVALID_ARGUMENT when the size is
     * not a non-negative integer, does not fit the datatype and shape, or runs past the body.
     */
    TensorData read(String input, DataType type, long[] shape, Object size) {
        long bytes = byteCount(input, size);
        if (type.isFixedWidth()) {
            checkFixedWidthSize(input, type, shape, bytes);
        }
        int remaining = body.length - position;
        if (bytes > remaining) {
            throw InferenceException.invalid("input '" + input + "' has " + SIZE_PARAMETER + " " + bytes
                    + ", but only " + remaining + " bytes of binary data remain for it in the request body");
        }
        ByteBuffer slice = ByteBuffer.wrap(body, position, (int) bytes).slice();
        position += (int) bytes;
        return RawTensorData.decode(input, SOURCE, type, slice);
    }

    /** Throws INVALID_ARGUMENT when bytes follow the data of the last binary input. */
    void requireAllRead() {
        int left = body.length - position;
        if (left > 0) {
            throw InferenceException.invalid("request body has " + left + " bytes after the data of its binary"
                    + " inputs (expected: the " + SIZE_PARAMETER + " values to add up to the binary part)");
        }
    }

    private static long byteCount(String input, Object size) {
        if (size instanceof BigInteger big) {
            // Jackson produces a BigInteger only for integers beyond 64 bits, far past any body.
            throw InferenceException.invalid("input '" + input + "' has " + SIZE_PARAMETER + " " + big
                    + ", which is larger than any request body");
        }
        if (!(size instanceof Integer || size instanceof Long)) {
            throw InferenceException.invalid("input '" + input + "' has " + SIZE_PARAMETER + " " + size
                    + " (expected: a non-negative integer number of bytes)");
        }
        long bytes = ((Number) size).longValue();
        if (bytes < 0) {
            throw InferenceException.invalid("input '" + input + "' has " + SIZE_PARAMETER + " " + bytes
                    + " (expected: a non-negative integer number of bytes)");
        }
        return bytes;
    }

    private static void checkFixedWidthSize(String input, DataType type, long[] shape, long bytes) {
        if (bytes % type.byteSize() != 0) {
            throw InferenceException.invalid("input '" + input + "' has " + SIZE_PARAMETER + " " + bytes
                    + ", which is not a multiple of " + type.byteSize() + " bytes per " + type + " element");
        }
        long elements = Shapes.elementCount(shape);
        if (elements < 0 || elements != bytes / type.byteSize()) {
            // Worded like the validator's element count check, so both transports read alike.
            throw InferenceException.invalid("input '" + input + "' has shape " + Shapes.format(shape)
                    + ", which holds " + (elements < 0 ? "more than 2^63" : elements) + " elements, but its "
                    + SIZE_PARAMETER + " " + bytes + " holds " + bytes / type.byteSize() + " " + type + " elements");
        }
    }
}
