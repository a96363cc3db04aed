package dev.levee.server.rest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.levee.core.DataType;
import dev.levee.core.InferenceException;
import dev.levee.core.InferenceRequest;
import dev.levee.core.Tensor;
import dev.levee.core.TensorData;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class JsonRequestDecoderTest {

    private static Tensor decodeOne(String datatype, String shape, String data) {
        String body = "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"" + datatype + "\",\"shape\":" + shape
                + ",\"data\":" + data + "}]}";
        InferenceRequest request = JsonRequestDecoder.decode(body.getBytes(StandardCharsets.UTF_8), "m", "",
                InferenceRequest.NO_DEADLINE);
        return request.inputs().getFirst();
    }

    private static ByteBuffer bytes(Tensor tensor) {
        return ((TensorData.FixedWidth) tensor.data()).buffer();
    }

    @Test
    void nestedDataIsFlattenedInRowMajorOrder() {
        Tensor tensor = decodeOne("FP32", "[2,2]", "[[1.5,2],[3,4]]");
        assertThat(tensor.floats()).containsExactly(1.5f, 2f, 3f, 4f);
        assertThat(tensor.shape()).containsExactly(2, 2);
    }

    @Test
    void integerTypesKeepFullRange() {
        assertThat(bytes(decodeOne("INT64", "[2]", "[9223372036854775807,-9223372036854775808]")).getLong(8))
                .isEqualTo(Long.MIN_VALUE);
        assertThat(bytes(decodeOne("UINT64", "[1]", "[18446744073709551615]")).getLong(0)).isEqualTo(-1L);
        assertThat(bytes(decodeOne("UINT8", "[1]", "[255]")).get(0)).isEqualTo((byte) -1);
        assertThat(bytes(decodeOne("INT16", "[1]", "[-32768]")).getShort(0)).isEqualTo(Short.MIN_VALUE);
    }

    @Test
    void boolsHalfFloatsAndStringsAreEncoded() {
        ByteBuffer bools = bytes(decodeOne("BOOL", "[2]", "[true,false]"));
        assertThat(bools.get(0)).isEqualTo((byte) 1);
        assertThat(bools.get(1)).isEqualTo((byte) 0);
        assertThat(Float.float16ToFloat(bytes(decodeOne("FP16", "[1]", "[0.5]")).getShort(0))).isEqualTo(0.5f);
        assertThat(Float.intBitsToFloat(bytes(decodeOne("BF16", "[1]", "[2.0]")).getShort(0) << 16)).isEqualTo(2f);
        Tensor text = decodeOne("BYTES", "[2]", "[\"héllo\",\"\"]");
        assertThat(text.datatype()).isEqualTo(DataType.BYTES);
        byte[][] elements = ((TensorData.Strings) text.data()).elements();
        assertThat(new String(elements[0], StandardCharsets.UTF_8)).isEqualTo("héllo");
        assertThat(elements[1]).isEmpty();
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', textBlock = """
            INT8   | [128]          | out of range
            UINT8  | [-1]           | out of range
            INT32  | [2147483648]   | out of range
            INT64  | [9223372036854775808] | out of range
            UINT64 | [-1]           | out of range
            INT32  | [1.5]          | expected: an integer
            BOOL   | [1]            | expected: true or false
            FP32   | [null]         | is null
            BYTES  | [1]            | expected: a string
            FP64   | [{"a":1}]      | is an object
            FP32   | [1e39]         | out of range
            FP16   | [70000]        | out of range
            FP64   | [1e400]        | out of range
            """)
    void elementThatDoesNotFitItsDatatypeIsRejected(String datatype, String data, String message) {
        assertThatThrownBy(() -> decodeOne(datatype, "[1]", data))
                .isInstanceOf(InferenceException.class)
                .hasMessageContaining("input 'x' element 0")
                .hasMessageContaining(message);
    }

    @Test
    void duplicateKeyIsRejectedRatherThanRelabellingData() {
        // A second "datatype" after "data" would otherwise declare the decoded bytes another type.
        String body = "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"INT32\",\"shape\":[1],\"data\":[1],"
                + "\"datatype\":\"FP32\"}]}";
        assertThatThrownBy(() -> JsonRequestDecoder.decode(body.getBytes(StandardCharsets.UTF_8), "m", "",
                InferenceRequest.NO_DEADLINE))
                .isInstanceOf(InferenceException.class)
                .hasMessageContaining("Duplicate field 'datatype'");
    }

    @Test
    void dataBeforeDatatypeIsDecodedFromItsPlaceInTheBody() {
        String body = "{\"inputs\":[{\"data\":[[1,2],[3,4]],\"name\":\"x\",\"shape\":[2,2],\"datatype\":\"INT64\"}]}";
        Tensor tensor = JsonRequestDecoder.decode(body.getBytes(StandardCharsets.UTF_8), "m", "",
                InferenceRequest.NO_DEADLINE).inputs().getFirst();
        assertThat(bytes(tensor).getLong(24)).isEqualTo(4L);
        assertThat(tensor.data().elementCount()).isEqualTo(4);
    }

    @Test
    void parserErrorsDoNotLeakParserSettings() {
        String data = "[".repeat(100) + "]".repeat(100);
        assertThatThrownBy(() -> decodeOne("FP32", "[1]", data))
                .isInstanceOf(InferenceException.class)
                .hasMessageContaining("nested too deeply")
                .hasMessageNotContaining("StreamReadConstraints");
    }

    @Test
    void deeplyNestedDataIsRejectedWithoutOverflowingTheStack() {
        String data = "[".repeat(100_000) + "]".repeat(100_000);
        assertThatThrownBy(() -> decodeOne("FP32", "[1]", data))
                .isInstanceOf(InferenceException.class)
                .hasMessageContaining("not valid JSON");
    }
}
