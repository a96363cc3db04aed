package dev.levee.core;

import static java.util.Objects.requireNonNull;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The elements of a tensor, in row-major order. Fixed-width types keep their little-endian bytes,
 * the layout of the protocol's binary extension and of gRPC raw contents, so those transports copy
 * nothing; BYTES tensors keep one byte array per element.
 */
public sealed interface TensorData {

    /** Number of elements. */
    long elementCount();

    /** Elements of a fixed-width type as little-endian bytes, read from position 0 to the limit. */
    record FixedWidth(DataType datatype, ByteBuffer buffer) implements TensorData {
        public FixedWidth {
            requireNonNull(datatype, "datatype");
            requireNonNull(buffer, "buffer");
            if (!datatype.isFixedWidth()) {
                throw new IllegalArgumentException("datatype: BYTES (expected: a fixed-width type)");
            }
            buffer = buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        }

        @Override
        public long elementCount() {
            return buffer.remaining() / datatype.byteSize();
        }
    }

    /** Elements of a BYTES tensor. */
    record Strings(byte[][] elements) implements TensorData {
        public Strings {
            requireNonNull(elements, "elements");
        }

        @Override
        public long elementCount() {
            return elements.length;
        }
    }
}
