package dev.levee.runtime;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import dev.levee.core.DataType;

/** Mapping between ONNX Runtime's Java element types and protocol datatypes. */
final class OnnxTypes {
    private OnnxTypes() {}

    static DataType toDataType(TensorInfo info, String tensorName) throws OrtException {
        return switch (info.type) {
            case FLOAT -> DataType.FP32;
            case DOUBLE -> DataType.FP64;
            case INT8 -> DataType.INT8;
            case UINT8 -> DataType.UINT8;
            case INT16 -> DataType.INT16;
            case INT32 -> DataType.INT32;
            case INT64 -> DataType.INT64;
            case BOOL -> DataType.BOOL;
            case STRING -> DataType.BYTES;
            case FLOAT16 -> DataType.FP16;
            case BFLOAT16 -> DataType.BF16;
            default -> throw new OrtException("tensor '" + tensorName + "' has element type " + info.onnxType
                    + ", which ONNX Runtime's Java API cannot exchange");
        };
    }

    static OnnxJavaType toJavaType(DataType type) {
        return switch (type) {
            case FP32 -> OnnxJavaType.FLOAT;
            case FP64 -> OnnxJavaType.DOUBLE;
            case INT8 -> OnnxJavaType.INT8;
            case UINT8 -> OnnxJavaType.UINT8;
            case INT16 -> OnnxJavaType.INT16;
            case INT32 -> OnnxJavaType.INT32;
            case INT64 -> OnnxJavaType.INT64;
            case BOOL -> OnnxJavaType.BOOL;
            case FP16 -> OnnxJavaType.FLOAT16;
            case BF16 -> OnnxJavaType.BFLOAT16;
            case BYTES -> OnnxJavaType.STRING;
            case UINT16, UINT32, UINT64 -> throw new IllegalArgumentException(
                    "datatype " + type + " is not supported by ONNX Runtime's Java API");
        };
    }
}
