package dev.levee.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.levee.core.DataType;
import dev.levee.core.ErrorKind;
import dev.levee.core.InferenceRequest;
import dev.levee.core.InferenceResponse;
import dev.levee.core.Tensor;
import dev.levee.core.TensorData;
import dev.levee.server.rest.HttpStatuses;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The REST transport, in JSON or in the binary tensor extension. In binary form every input goes
 * as binary data and every output is requested as binary data, as tritonclient's HTTP client does
 * by default, and the client checks that the response really carries them in binary form.
 */
final class RestProtocolClient implements ProtocolClient {
    static final String HEADER_LENGTH = "Inference-Header-Content-Length";
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final TestNode node;
    private final boolean binary;

    RestProtocolClient(TestNode node, boolean binary) {
        this.node = node;
        this.binary = binary;
    }

    @Override
    public Outcome infer(InferenceRequest request) {
        String path = "/v2/models/" + request.model()
                + (request.version().isEmpty() ? "" : "/versions/" + request.version()) + "/infer";
        ObjectNode json = header(request);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(json.toString().getBytes(StandardCharsets.UTF_8));
        int jsonLength = body.size();
        if (binary) {
            request.inputs().forEach(input -> body.writeBytes(WireTensors.toRaw(input)));
        }
        HttpRequest.Builder http = HttpRequest.newBuilder(node.uri(path)).timeout(TIMEOUT)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()));
        if (binary) {
            http.header("Content-Type", "application/octet-stream")
                    .header(HEADER_LENGTH, Integer.toString(jsonLength));
        } else {
            http.header("Content-Type", "application/json");
        }
        return outcome(node.sendForBytes(http.build()));
    }

    @Override
    public String statusOf(ErrorKind kind) {
        return Integer.toString(HttpStatuses.of(kind));
    }

    @Override
    public void close() {}

    private ObjectNode header(InferenceRequest request) {
        ObjectNode json = TestNode.JSON.createObjectNode();
        if (!request.id().isEmpty()) {
            json.put("id", request.id());
        }
        Map<String, Object> parameters = new LinkedHashMap<>(request.parameters());
        if (binary && request.outputs().isEmpty()) {
            parameters.put("binary_data_output", true);
        }
        if (!parameters.isEmpty()) {
            json.set("parameters", TestNode.JSON.valueToTree(parameters));
        }
        ArrayNode inputs = json.putArray("inputs");
        for (Tensor tensor : request.inputs()) {
            ObjectNode input = inputs.addObject();
            input.put("name", tensor.name());
            input.put("datatype", tensor.datatype().name());
            ArrayNode shape = input.putArray("shape");
            Arrays.stream(tensor.shape()).forEach(shape::add);
            if (binary) {
                input.putObject("parameters").put("binary_data_size", WireTensors.toRaw(tensor).length);
            } else {
                input.set("data", WireTensors.toJson(tensor));
            }
        }
        if (!request.outputs().isEmpty()) {
            ArrayNode outputs = json.putArray("outputs");
            for (String name : request.outputs()) {
                ObjectNode output = outputs.addObject().put("name", name);
                if (binary) {
                    output.putObject("parameters").put("binary_data", true);
                }
            }
        }
        return json;
    }

    private Outcome outcome(HttpResponse<byte[]> http) {
        byte[] body = http.body();
        Optional<String> headerLength = http.headers().firstValue(HEADER_LENGTH);
        int jsonLength = headerLength.map(Integer::parseInt).orElse(body.length);
        JsonNode json = parse(body, jsonLength);
        if (http.statusCode() != 200) {
            Optional<Long> retryAfter = http.headers().firstValue("Retry-After").map(Long::parseLong);
            return new Outcome.Failure(Integer.toString(http.statusCode()), json.path("error").asText(), retryAfter);
        }
        JsonNode outputsJson = json.path("outputs");
        if (binary && !outputsJson.isEmpty()) {
            assertThat(headerLength).as("binary response without " + HEADER_LENGTH).isPresent();
            assertThat(http.headers().firstValue("Content-Type")).contains("application/octet-stream");
        } else {
            assertThat(headerLength).as("JSON response with " + HEADER_LENGTH).isEmpty();
            assertThat(http.headers().firstValue("Content-Type")).contains("application/json");
        }
        int offset = jsonLength;
        List<Tensor> outputs = new ArrayList<>();
        for (JsonNode output : outputsJson) {
            DataType type = DataType.fromProtocolName(output.path("datatype").asText()).orElseThrow();
            long[] shape = TestNode.JSON.convertValue(output.path("shape"), long[].class);
            TensorData data;
            if (binary) {
                assertThat(output.has("data")).as("binary output with 'data'").isFalse();
                int size = output.path("parameters").path("binary_data_size").asInt(-1);
                assertThat(size).as("binary_data_size of output " + output.path("name")).isNotNegative();
                data = WireTensors.fromRaw(type, Arrays.copyOfRange(body, offset, offset + size));
                offset += size;
            } else {
                data = WireTensors.fromJson(type, output.path("data"));
            }
            outputs.add(new Tensor(output.path("name").asText(), type, shape, data));
        }
        assertThat(offset).as("bytes after the last binary output").isEqualTo(body.length);
        @SuppressWarnings("unchecked")
        Map<String, Object> parameters = json.has("parameters")
                ? TestNode.JSON.convertValue(json.get("parameters"), Map.class)
                : Map.of();
        return new Outcome.Success(new InferenceResponse(json.path("id").asText(""), json.path("model_name").asText(),
                json.path("model_version").asText(), outputs, parameters));
    }

    private static JsonNode parse(byte[] body, int length) {
        try {
            return TestNode.JSON.readTree(body, 0, length);
        } catch (IOException e) {
            throw new AssertionError("response is not JSON: " + new String(body, 0, length, StandardCharsets.UTF_8),
                    e);
        }
    }
}
