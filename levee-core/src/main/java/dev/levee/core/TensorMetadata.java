package dev.levee.core;

import static java.util.Objects.requireNonNull;

/**
 * Name, element type and shape of a model input or output. A dimension of -1 has variable size;
 * for a batching model the first dimension is the batch dimension.
 */
public record TensorMetadata(String name, DataType datatype, long[] shape) {
    public TensorMetadata {
        requireNonNull(name, "name");
        requireNonNull(datatype, "datatype");
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }
}
