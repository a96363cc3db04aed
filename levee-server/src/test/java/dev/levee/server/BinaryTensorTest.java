package dev.levee.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.levee.core.DataType;
import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelConfig;
import dev.levee.runtime.ModelRepository;
import dev.levee.runtime.SyntheticModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What only the REST binary tensor extension has: its headers, every datatype in binary form bit
 * for bit, the choice of binary or JSON per output, and the 400 for each malformed binary body.
 * The transport-neutral cases run in {@link ProtocolSuiteTest}.
 */
class BinaryTensorTest {
    private static final String HEADER_LENGTH = "Inference-Header-Content-Length";
    private static final String OCTET_STREAM = "application/octet-stream";
    private static final String SYNTHETIC_INFER = Requests.SYNTHETIC_INFER;
    private static final String ECHO_INFER = "/v2/models/echo/infer";
    private static final String MIXED_INFER = "/v2/models/mixed/infer";
    private static final String MINILM_INFER = "/v2/models/minilm/infer";

    private static TestNode node;

    @BeforeAll
    static void start() throws Exception {
        ModelConfig synthetic = ModelConfig.defaults("synthetic", "synthetic").withMaxQueueDelay(Duration.ofMillis(1));
        node = TestNode.start(List.of(
                new LoadedModel(synthetic, "1", new SyntheticModel("synthetic", "1",
                        SyntheticModel.ServiceTime.sleeping(0), null)),
                new LoadedModel(ModelConfig.defaults("echo", "test"), "1", new EchoModel("echo", DataType.values())),
                new LoadedModel(ModelConfig.defaults("mixed", "test"), "1",
                        new EchoModel("mixed", DataType.FP32, DataType.INT32, DataType.BYTES)),
                ModelRepository.loadMiniLm(ModelRepository.miniLmConfig())));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    /** A request body: the JSON object, then the binary parts in order. */
    private record Body(byte[] bytes, int jsonLength) {
        static Body of(String json, byte[]... parts) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] header = json.getBytes(StandardCharsets.UTF_8);
            out.writeBytes(header);
            for (byte[] part : parts) {
                out.writeBytes(part);
            }
            return new Body(out.toByteArray(), header.length);
        }
    }

    /** A response split into its JSON object and the bytes after it. */
    private record Reply(HttpResponse<byte[]> http, JsonNode json, byte[] binary) {
        int status() {
            return http.statusCode();
        }

        String header(String name) {
            return http.headers().firstValue(name).orElse(null);
        }
    }

    private static Reply post(String path, Body body, String contentType, String headerLength) {
        HttpRequest.Builder request = HttpRequest.newBuilder(node.uri(path)).timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.bytes()))
                .header("Content-Type", contentType);
        if (headerLength != null) {
            request.header(HEADER_LENGTH, headerLength);
        }
        HttpResponse<byte[]> http = node.sendForBytes(request.build());
        byte[] bytes = http.body();
        int jsonLength = http.headers().firstValue(HEADER_LENGTH).map(Integer::parseInt).orElse(bytes.length);
        try {
            return new Reply(http, TestNode.JSON.readTree(bytes, 0, jsonLength),
                    Arrays.copyOfRange(bytes, jsonLength, bytes.length));
        } catch (IOException e) {
            throw new AssertionError("response is not JSON: " + new String(bytes, StandardCharsets.UTF_8), e);
        }
    }

    private static Reply post(String path, Body body) {
        return post(path, body, OCTET_STREAM, Integer.toString(body.jsonLength()));
    }

    private static byte[] floats(float... values) {
        ByteBuffer buffer = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            buffer.putFloat(value);
        }
        return buffer.array();
    }

    /** Strings in the BYTES layout: each a 4-byte little-endian length, then its bytes. */
    private static byte[] strings(byte[]... elements) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] element : elements) {
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(element.length).array());
            out.writeBytes(element);
        }
        return out.toByteArray();
    }

    private static JsonNode output(Reply reply, String name) {
        for (JsonNode output : reply.json().get("outputs")) {
            if (output.get("name").asText().equals(name)) {
                return output;
            }
        }
        throw new AssertionError("response has no output '" + name + "': " + reply.json());
    }

    private static String syntheticHeader(String shape, Object binaryDataSize) {
        return "{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP32\",\"shape\":" + shape
                + ",\"parameters\":{\"binary_data_size\":" + binaryDataSize + "}}],"
                + "\"outputs\":[{\"name\":\"OUTPUT0\",\"parameters\":{\"binary_data\":true}}]}";
    }

    private static void assertValidBinaryRequestSucceeds() {
        Reply reply = post(SYNTHETIC_INFER, Body.of(syntheticHeader("[1,2]", 8), floats(1.5f, -2f)));
        assertThat(reply.status()).as(reply.json().toString()).isEqualTo(200);
        assertThat(reply.binary()).isEqualTo(floats(1.5f, -2f));
    }

    /** Two elements of each datatype as raw bytes, with FP16 and BF16 special values among them. */
    private static Map<DataType, byte[]> everyDatatype() {
        Random random = new Random(42);
        Map<DataType, byte[]> data = new LinkedHashMap<>();
        for (DataType type : DataType.values()) {
            byte[] bytes = switch (type) {
                case BOOL -> new byte[] {1, 0};
                // FP16: a NaN with a payload and the smallest subnormal.
                case FP16 -> new byte[] {0x01, 0x7E, 0x01, 0x00};
                // BF16: negative infinity and 1.0.
                case BF16 -> new byte[] {(byte) 0x80, (byte) 0xFF, (byte) 0x80, 0x3F};
                // Not valid UTF-8, empty, and multi-byte UTF-8.
                case BYTES -> strings(new byte[] {(byte) 0xFF, (byte) 0xFE}, new byte[0],
                        "東京".getBytes(StandardCharsets.UTF_8));
                default -> {
                    byte[] random2 = new byte[2 * type.byteSize()];
                    random.nextBytes(random2);
                    yield random2;
                }
            };
            data.put(type, bytes);
        }
        return data;
    }

    /** Builds the echo model's request header with every input in binary form, in {@link DataType} order. */
    private static ObjectNode echoHeader(Map<DataType, byte[]> data) {
        ObjectNode json = TestNode.JSON.createObjectNode();
        ArrayNode inputs = json.putArray("inputs");
        data.forEach((type, bytes) -> {
            ObjectNode input = inputs.addObject().put("name", EchoModel.input(type)).put("datatype", type.name());
            if (type == DataType.BYTES) {
                input.putArray("shape").add(3);
            } else {
                input.putArray("shape").add(1).add(2);
            }
            input.putObject("parameters").put("binary_data_size", bytes.length);
        });
        return json;
    }

    @Test
    void everyDatatypeRoundTripsBitForBit() {
        Map<DataType, byte[]> data = everyDatatype();
        ObjectNode header = echoHeader(data);
        header.putObject("parameters").put("binary_data_output", true);

        Reply reply = post(ECHO_INFER, Body.of(header.toString(), data.values().toArray(byte[][]::new)));

        assertThat(reply.status()).as(reply.json().toString()).isEqualTo(200);
        assertThat(reply.header("Content-Type")).isEqualTo(OCTET_STREAM);
        int offset = 0;
        for (JsonNode output : reply.json().get("outputs")) {
            DataType type = DataType.valueOf(output.get("datatype").asText());
            byte[] sent = data.get(type);
            assertThat(output.get("name").asText()).isEqualTo(EchoModel.output(type));
            assertThat(output.has("data")).as("%s has 'data'", type).isFalse();
            assertThat(output.at("/parameters/binary_data_size").asInt()).as("%s size", type).isEqualTo(sent.length);
            assertThat(Arrays.copyOfRange(reply.binary(), offset, offset + sent.length)).as("%s bytes", type)
                    .isEqualTo(sent);
            offset += sent.length;
        }
        assertThat(reply.json().get("outputs")).hasSize(DataType.values().length);
        assertThat(offset).isEqualTo(reply.binary().length);
    }

    @Test
    void outputFlagOverridesRequestDefault() {
        Map<DataType, byte[]> data = everyDatatype();
        ObjectNode header = echoHeader(data);
        header.putObject("parameters").put("binary_data_output", true);
        ArrayNode outputs = header.putArray("outputs");
        outputs.addObject().put("name", "fp32_out");
        outputs.addObject().put("name", "int64_out").putObject("parameters").put("binary_data", false);

        Reply reply = post(ECHO_INFER, Body.of(header.toString(), data.values().toArray(byte[][]::new)));

        assertThat(reply.status()).as(reply.json().toString()).isEqualTo(200);
        assertThat(reply.json().get("outputs")).hasSize(2);
        JsonNode fp32 = output(reply, "fp32_out");
        assertThat(fp32.at("/parameters/binary_data_size").asInt()).isEqualTo(8);
        assertThat(reply.binary()).isEqualTo(data.get(DataType.FP32));
        JsonNode int64 = output(reply, "int64_out");
        assertThat(int64.has("parameters")).isFalse();
        ByteBuffer sent = ByteBuffer.wrap(data.get(DataType.INT64)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(int64.get("data").get(0).asLong()).isEqualTo(sent.getLong(0));
        assertThat(int64.get("data").get(1).asLong()).isEqualTo(sent.getLong(8));
    }

    @Test
    void jsonOutputsGetPlainJsonResponse() {
        Reply reply = post(SYNTHETIC_INFER, Body.of(
                "{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP32\",\"shape\":[1,2],"
                        + "\"parameters\":{\"binary_data_size\":8}}]}", floats(3f, 4f)));

        assertThat(reply.status()).as(reply.json().toString()).isEqualTo(200);
        assertThat(reply.header(HEADER_LENGTH)).isNull();
        assertThat(reply.header("Content-Type")).isEqualTo("application/json");
        assertThat(reply.json().at("/outputs/0/data").toString()).isEqualTo("[3.0,4.0]");
    }

    @Test
    void jsonAndBinaryInputsMixInOneRequest() {
        String header = "{\"inputs\":["
                + "{\"name\":\"fp32\",\"datatype\":\"FP32\",\"shape\":[1,1],\"parameters\":{\"binary_data_size\":4}},"
                + "{\"name\":\"int32\",\"datatype\":\"INT32\",\"shape\":[1,2],\"data\":[7,8]},"
                + "{\"name\":\"bytes\",\"datatype\":\"BYTES\",\"shape\":[1],\"parameters\":{\"binary_data_size\":6}}"
                + "],\"outputs\":[{\"name\":\"fp32_out\"},{\"name\":\"int32_out\"},{\"name\":\"bytes_out\","
                + "\"parameters\":{\"binary_data\":true}}]}";
        byte[] text = strings("ab".getBytes(StandardCharsets.UTF_8));

        Reply reply = post(MIXED_INFER, Body.of(header, floats(9f), text));

        assertThat(reply.status()).as(reply.json().toString()).isEqualTo(200);
        assertThat(reply.json().at("/outputs/0/data").toString()).isEqualTo("[9.0]");
        assertThat(reply.json().at("/outputs/1/data").toString()).isEqualTo("[7,8]");
        assertThat(reply.json().at("/outputs/2/parameters/binary_data_size").asInt()).isEqualTo(6);
        assertThat(reply.binary()).isEqualTo(text);
    }

    @Test
    void jsonContentTypeAcceptsBinaryBody() {
        Body body = Body.of(syntheticHeader("[1,1]", 4), floats(6f));
        Reply reply = post(SYNTHETIC_INFER, body, "application/json", Integer.toString(body.jsonLength()));
        assertThat(reply.status()).as(reply.json().toString()).isEqualTo(200);
        assertThat(reply.binary()).isEqualTo(floats(6f));
    }

    @Test
    void octetStreamWithoutHeaderLengthIsAllJson() {
        Body body = Body.of("{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP32\",\"shape\":[1,1],\"data\":[5]}]}");
        Reply reply = post(SYNTHETIC_INFER, body, OCTET_STREAM, null);
        assertThat(reply.status()).as(reply.json().toString()).isEqualTo(200);
        assertThat(reply.json().at("/outputs/0/data/0").floatValue()).isEqualTo(5f);
    }

    @Test
    void otherContentTypeGets415() {
        Body body = Body.of(syntheticHeader("[1,1]", 4), floats(6f));
        Reply reply = post(SYNTHETIC_INFER, body, "text/plain", Integer.toString(body.jsonLength()));
        assertThat(reply.status()).isEqualTo(415);
        assertThat(reply.json().get("error").asText()).contains("application/json").contains(OCTET_STREAM);
        assertValidBinaryRequestSucceeds();
    }

    @Test
    void serverMetadataListsTheExtension() {
        TestNode.Reply reply = node.get("/v2");
        assertThat(reply.json().get("extensions").toString()).contains("\"binary_tensor_data\"");
    }

    static Stream<Arguments> malformedBodies() {
        byte[] eight = floats(1, 2);
        Body valid = Body.of(syntheticHeader("[1,2]", 8), eight);
        String textHeader = "{\"inputs\":[{\"name\":\"text\",\"datatype\":\"BYTES\",\"shape\":[2],"
                + "\"parameters\":{\"binary_data_size\":%d}}]}";
        byte[] lengthPastEnd = strings("ok".getBytes(StandardCharsets.UTF_8), "abc".getBytes(StandardCharsets.UTF_8));
        lengthPastEnd[6] = 9;
        byte[] invalidUtf8 = strings("ok".getBytes(StandardCharsets.UTF_8), new byte[] {(byte) 0xC3, 0x28});
        return Stream.of(
                Arguments.of("header length negative", SYNTHETIC_INFER, valid, "-1",
                        "Inference-Header-Content-Length -1 is negative"),
                Arguments.of("header length not a number", SYNTHETIC_INFER, valid, "12abc",
                        "Inference-Header-Content-Length '12abc' is not a number"),
                Arguments.of("header length beyond 32 bits", SYNTHETIC_INFER, valid, "4294967296",
                        "Inference-Header-Content-Length 4294967296 does not fit in 32 bits"),
                Arguments.of("header length beyond 64 bits", SYNTHETIC_INFER, valid, "184467440737095516160",
                        "does not fit in 32 bits"),
                Arguments.of("header length past the body", SYNTHETIC_INFER, valid,
                        Integer.toString(valid.bytes().length + 1), "is larger than the request body of "
                                + valid.bytes().length + " bytes"),
                Arguments.of("header length cuts the JSON", SYNTHETIC_INFER, valid, "10", "not valid JSON"),
                Arguments.of("size negative", SYNTHETIC_INFER, Body.of(syntheticHeader("[1,2]", -8), eight), null,
                        "input 'INPUT0' has binary_data_size -8 (expected: a non-negative integer"),
                Arguments.of("size a string", SYNTHETIC_INFER, Body.of(syntheticHeader("[1,2]", "\"8\""), eight), null,
                        "input 'INPUT0' has binary_data_size 8 (expected: a non-negative integer"),
                Arguments.of("size a fraction", SYNTHETIC_INFER, Body.of(syntheticHeader("[1,2]", 7.5), eight), null,
                        "input 'INPUT0' has binary_data_size 7.5 (expected: a non-negative integer"),
                Arguments.of("size past the body", SYNTHETIC_INFER, Body.of(syntheticHeader("[1,2]", 8), floats(1)),
                        null, "input 'INPUT0' has binary_data_size 8, but only 4 bytes of binary data remain"),
                Arguments.of("size beyond 64 bits", SYNTHETIC_INFER,
                        Body.of(syntheticHeader("[1,2]", "99999999999999999999"), eight), null,
                        "input 'INPUT0' has binary_data_size 99999999999999999999, which is larger than any"),
                Arguments.of("size not whole elements", SYNTHETIC_INFER, Body.of(syntheticHeader("[1,2]", 6),
                        Arrays.copyOf(eight, 6)), null, "input 'INPUT0' has binary_data_size 6, which is not a"
                                + " multiple of 4 bytes per FP32 element"),
                Arguments.of("size does not fit the shape", SYNTHETIC_INFER,
                        Body.of(syntheticHeader("[1,3]", 8), eight), null, "input 'INPUT0' has shape [1, 3], which holds 3 elements, but its binary_data_size 8"
                                + " holds 2 FP32 elements"),
                Arguments.of("bytes after the last input", SYNTHETIC_INFER, Body.of(syntheticHeader("[1,2]", 8), eight,
                        new byte[] {1, 2, 3}), null, "request body has 3 bytes after the data of its binary inputs"),
                Arguments.of("data and size both", SYNTHETIC_INFER, Body.of("{\"inputs\":[{\"name\":\"INPUT0\","
                        + "\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2],"
                        + "\"parameters\":{\"binary_data_size\":8}}]}", eight), null,
                        "input 'INPUT0' has both 'data' and a binary_data_size parameter"),
                Arguments.of("binary_data not a boolean", SYNTHETIC_INFER, Body.of(syntheticHeader("[1,2]", 8)
                        .replace("\"binary_data\":true", "\"binary_data\":\"yes\""), eight), null,
                        "output 'OUTPUT0' parameter 'binary_data': yes (expected: true or false)"),
                Arguments.of("unknown output in binary form", SYNTHETIC_INFER, Body.of(syntheticHeader("[1,2]", 8)
                        .replace("OUTPUT0", "OUTPUT9"), eight), null, "unknown output 'OUTPUT9'"),
                Arguments.of("BYTES length past the end", MINILM_INFER,
                        Body.of(textHeader.formatted(lengthPastEnd.length), lengthPastEnd), null,
                        "input 'text' binary data gives element 1 a length of 9 bytes, but only 3 bytes follow"),
                Arguments.of("BYTES ending inside a length", MINILM_INFER,
                        Body.of(textHeader.formatted(8), Arrays.copyOf(lengthPastEnd, 8)), null,
                        "input 'text' binary data ends inside the length of element 1"),
                Arguments.of("BYTES not UTF-8 for a text model", MINILM_INFER,
                        Body.of(textHeader.formatted(invalidUtf8.length), invalidUtf8), null,
                        "input 'text' element 1 is not valid UTF-8"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedBodies")
    void malformedBodyGets400(String label, String path, Body body, String headerLength,
            String expectedMessage) {
        Reply reply = post(path, body, OCTET_STREAM,
                headerLength == null ? Integer.toString(body.jsonLength()) : headerLength);

        assertThat(reply.status()).as(reply.json().toString()).isEqualTo(400);
        assertThat(reply.header("Content-Type")).isEqualTo("application/json");
        assertThat(reply.json().get("error").asText()).contains(expectedMessage);
        assertValidBinaryRequestSucceeds();
    }
}
