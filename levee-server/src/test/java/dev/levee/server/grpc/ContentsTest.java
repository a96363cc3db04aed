package dev.levee.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.levee.core.DataType;
import dev.levee.core.InferenceException;
import dev.levee.core.InferenceResponse;
import dev.levee.core.Tensor;
import dev.levee.core.TensorData;
import dev.levee.server.grpc.proto.InferParameter;
import dev.levee.server.grpc.proto.InferTensorContents;
import dev.levee.server.grpc.proto.ModelInferResponse;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Raw and typed tensor contents and parameters, decoded and encoded without a server. */
class ContentsTest {

    @Test
    void rawBytesAreLengthPrefixedLittleEndian() {
        byte[] layout = {3, 0, 0, 0, 'a', 'b', 'c', 0, 0, 0, 0, 2, 0, 0, 0, (byte) 0xC3, (byte) 0xA9};
        TensorData data = RawContents.decode("text", DataType.BYTES, ByteString.copyFrom(layout));

        byte[][] elements = ((TensorData.Strings) data).elements();
        assertThat(elements).hasNumberOfRows(3);
        assertThat(new String(elements[0], StandardCharsets.UTF_8)).isEqualTo("abc");
        assertThat(elements[1]).isEmpty();
        assertThat(new String(elements[2], StandardCharsets.UTF_8)).isEqualTo("é");
        assertThat(RawContents.encode(data).toByteArray()).isEqualTo(layout);
    }

    @Test
    void rawBytesEndingInsideALengthAreRejected() {
        assertThatThrownBy(() -> RawContents.decode("text", DataType.BYTES, ByteString.copyFrom(new byte[] {1, 0})))
                .isInstanceOf(InferenceException.class)
                .hasMessageContaining("input 'text' raw content ends inside the length of element 0");
    }

    @Test
    void rawBytesLengthPastTheEndIsRejected() {
        byte[] layout = {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 'a'};
        assertThatThrownBy(() -> RawContents.decode("text", DataType.BYTES, ByteString.copyFrom(layout)))
                .isInstanceOf(InferenceException.class)
                .hasMessageContaining("a length of 4294967295 bytes, but only 1 bytes follow");
    }

    @Test
    void rawFixedWidthStartsAtPositionZero() {
        ByteString raw = ByteString.copyFrom(new byte[] {9, 9, 9, 9, 1, 0, 0, 0, 2, 0, 0, 0}).substring(4);
        TensorData.FixedWidth data = (TensorData.FixedWidth) RawContents.decode("x", DataType.INT32, raw);
        assertThat(data.elementCount()).isEqualTo(2);
        assertThat(data.buffer().getInt(0)).isEqualTo(1);
        assertThat(data.buffer().getInt(4)).isEqualTo(2);
    }

    /** Checks that data of every datatype with a typed field survives decode then encode unchanged. */
    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FP16", "BF16", "BYTES"}, mode = EnumSource.Mode.EXCLUDE)
    void typedContentsRoundTrip(DataType type) {
        InferTensorContents contents = sample(type);
        TensorData data = TypedContents.decode("x", type, contents);
        assertThat(data.elementCount()).isEqualTo(3);
        assertThat(TypedContents.encode(type, data)).isEqualTo(contents);
        // The raw layout of the same data has the datatype's width per element.
        assertThat(RawContents.encode(data).size()).isEqualTo(3 * type.byteSize());
    }

    private static InferTensorContents sample(DataType type) {
        InferTensorContents.Builder contents = InferTensorContents.newBuilder();
        switch (type) {
            case BOOL -> contents.addBoolContents(true).addBoolContents(false).addBoolContents(true);
            case INT8 -> contents.addIntContents(-128).addIntContents(0).addIntContents(127);
            case INT16 -> contents.addIntContents(-32768).addIntContents(1).addIntContents(32767);
            case INT32 -> contents.addIntContents(Integer.MIN_VALUE).addIntContents(2)
                    .addIntContents(Integer.MAX_VALUE);
            case INT64 -> contents.addInt64Contents(Long.MIN_VALUE).addInt64Contents(3)
                    .addInt64Contents(Long.MAX_VALUE);
            case UINT8 -> contents.addUintContents(0).addUintContents(1).addUintContents(255);
            case UINT16 -> contents.addUintContents(0).addUintContents(1).addUintContents(65535);
            case UINT32 -> contents.addUintContents(0).addUintContents(1).addUintContents(-1);
            case UINT64 -> contents.addUint64Contents(0).addUint64Contents(1).addUint64Contents(-1L);
            case FP32 -> contents.addFp32Contents(-1.5f).addFp32Contents(Float.NaN).addFp32Contents(3e38f);
            case FP64 -> contents.addFp64Contents(-1.5).addFp64Contents(Double.POSITIVE_INFINITY)
                    .addFp64Contents(1e-300);
            default -> throw new IllegalArgumentException(type + " has no typed field");
        }
        return contents.build();
    }

    @Test
    void typedBytesRoundTrip() {
        InferTensorContents contents = InferTensorContents.newBuilder()
                .addBytesContents(ByteString.copyFromUtf8("one"))
                .addBytesContents(ByteString.EMPTY)
                .build();
        TensorData data = TypedContents.decode("text", DataType.BYTES, contents);
        assertThat(data.elementCount()).isEqualTo(2);
        assertThat(TypedContents.encode(DataType.BYTES, data)).isEqualTo(contents);
    }

    @Test
    void typedElementOutOfRangeIsRejected() {
        InferTensorContents int8 = InferTensorContents.newBuilder().addIntContents(1).addIntContents(200).build();
        assertThatThrownBy(() -> TypedContents.decode("x", DataType.INT8, int8))
                .isInstanceOf(InferenceException.class)
                .hasMessageContaining("input 'x' element 1 is 200, which is out of range for datatype INT8");
        InferTensorContents uint16 = InferTensorContents.newBuilder().addUintContents(-1).build();
        assertThatThrownBy(() -> TypedContents.decode("x", DataType.UINT16, uint16))
                .isInstanceOf(InferenceException.class)
                .hasMessageContaining("element 0 is 4294967295, which is out of range for datatype UINT16");
    }

    @Test
    void halfPrecisionNeedsRawContents() {
        assertThatThrownBy(() -> TypedContents.decode("x", DataType.FP16, InferTensorContents.getDefaultInstance()))
                .isInstanceOf(InferenceException.class)
                .hasMessageContaining("input 'x' has datatype FP16, which has no typed contents field");
    }

    @Test
    void halfPrecisionOutputIsSentRaw() {
        ByteBuffer half = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort(Float.floatToFloat16(1.5f));
        half.flip();
        Tensor output = new Tensor("y", DataType.FP16, new long[] {1}, new TensorData.FixedWidth(DataType.FP16, half));
        InferenceResponse response = new InferenceResponse("", "m", "1", List.of(output), Map.of());

        ModelInferResponse encoded = InferResponseEncoder.encode(response, false);

        assertThat(encoded.getRawOutputContentsCount()).isEqualTo(1);
        assertThat(encoded.getOutputs(0).hasContents()).isFalse();
    }

    @Test
    void parametersKeepTheirKind() {
        Map<String, InferParameter> sent = Map.of(
                "b", InferParameter.newBuilder().setBoolParam(true).build(),
                "i", InferParameter.newBuilder().setInt64Param(-5).build(),
                "s", InferParameter.newBuilder().setStringParam("x").build(),
                "d", InferParameter.newBuilder().setDoubleParam(0.5).build(),
                "u", InferParameter.newBuilder().setUint64Param(-1L).build());
        Map<String, Object> values = InferParameters.decode(sent);
        assertThat(values.get("u")).isEqualTo(new BigInteger("18446744073709551615"));
        assertThat(values.get("i")).isEqualTo(-5L);
        assertThat(InferParameters.encode(values)).isEqualTo(sent);
    }
}
