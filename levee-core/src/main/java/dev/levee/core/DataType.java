package dev.levee.core;

import java.util.Optional;

/** Tensor element types of the KServe Open Inference Protocol v2, with their width in bytes. */
public enum DataType {
    BOOL(1),
    UINT8(1),
    UINT16(2),
    UINT32(4),
    UINT64(8),
    INT8(1),
    INT16(2),
    INT32(4),
    INT64(8),
    FP16(2),
    BF16(2),
    FP32(4),
    FP64(8),
    /** Variable-length byte strings; {@link #byteSize()} is 0 for this type. */
    BYTES(0);

    private final int byteSize;

    DataType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Width of one element in bytes, or 0 for {@link #BYTES}. */
    public int byteSize() {
        return byteSize;
    }

    public boolean isFixedWidth() {
        return this != BYTES;
    }

    /** Parses a protocol name such as {@code "FP32"}; the match is exact, as the protocol spells it. */
    public static Optional<DataType> fromProtocolName(String name) {
        for (DataType type : values()) {
            if (type.name().equals(name)) {
                return Optional.of(type);
            }
        }
        return Optional.empty();
    }
}
