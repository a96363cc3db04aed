package dev.levee.core;

import static java.util.Objects.requireNonNull;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/** A named tensor: element type, concrete shape and data. */
public record Tensor(String name, DataType datatype, long[] shape, TensorData data) {
    public Tensor {
        requireNonNull(name, "name");
        requireNonNull(datatype, "datatype");
        requireNonNull(data, "data");
        boolean agrees = switch (data) {
            case TensorData.FixedWidth fixed -> fixed.datatype() == datatype;
            case TensorData.Strings strings -> datatype == DataType.BYTES;
        };
        if (!agrees) {
            throw new IllegalArgumentException("tensor '" + name + "' is declared " + datatype
                    + " but its data is of another type");
        }
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Size of the first dimension, or 1 for a scalar. */
    public long batchSize() {
        return shape.length == 0 ? 1 : shape[0];
    }

    public static Tensor ofFloats(String name, long[] shape, float[] values) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asFloatBuffer().put(values);
        return new Tensor(name, DataType.FP32, shape, new TensorData.FixedWidth(DataType.FP32, buffer));
    }

    public static Tensor ofStrings(String name, long[] shape, byte[][] values) {
        return new Tensor(name, DataType.BYTES, shape, new TensorData.Strings(values));
    }

    /** A tensor without elements; {@code shape} must contain a 0 dimension. */
    public static Tensor empty(String name, DataType datatype, long[] shape) {
        if (Shapes.elementCount(shape) != 0) {
            throw new IllegalArgumentException("shape: " + Shapes.format(shape) + " (expected: a 0 dimension)");
        }
        TensorData data = datatype == DataType.BYTES
                ? new TensorData.Strings(new byte[0][])
                : new TensorData.FixedWidth(datatype, ByteBuffer.allocate(0));
        return new Tensor(name, datatype, shape, data);
    }

    /** Returns the elements of an FP32 tensor as a new array. */
    public float[] floats() {
        if (!(data instanceof TensorData.FixedWidth fixed) || datatype != DataType.FP32) {
            throw new IllegalStateException("tensor " + name + " is " + datatype + ", not FP32");
        }
        float[] values = new float[(int) fixed.elementCount()];
        fixed.buffer().asFloatBuffer().get(values);
        return values;
    }

    @Override
    public String toString() {
        return "Tensor[" + name + ", " + datatype + ", " + Arrays.toString(shape) + "]";
    }
}
