package dev.levee.server.rest;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.levee.core.DataType;
import dev.levee.core.InferenceException;
import dev.levee.core.InferenceRequest;
import dev.levee.core.Tensor;
import dev.levee.core.TensorData;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decodes the v2 JSON inference request with a streaming parser, so tensor data goes straight
 * into its binary layout without an intermediate tree. Only when {@code data} comes before
 * {@code datatype} in an input object is that one array buffered as a tree first. An input with a
 * {@code binary_data_size} parameter takes its data from the bytes after the JSON object instead,
 * as the binary tensor extension defines.
 */
public final class JsonRequestDecoder {
    /** Deepest nesting accepted; tensors of more than about 60 dimensions are not expected. */
    private static final int MAX_NESTING_DEPTH = 64;

    /**
     * Rejects duplicate keys: with "last one wins", a second {@code datatype} after {@code data}
     * would relabel bytes already decoded as another type.
     */
    static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING_DEPTH).build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build());

    private JsonRequestDecoder() {}

    /**
     * Decodes {@code body} as a request to {@code model} at {@code version} (empty for the newest).
     * Throws an INVALID_ARGUMENT {@link InferenceException} naming what is wrong.
     */
    public static InferenceRequest decode(byte[] body, String model, String version, long deadlineNanos) {
        return decode(body, body.length, model, version, deadlineNanos).request();
    }

    /**
     * Decodes a request whose first {@code jsonLength} bytes of {@code body} are the JSON object and
     * whose remaining bytes are the data of the inputs that carry a {@code binary_data_size}, in
     * input order. Throws an INVALID_ARGUMENT {@link InferenceException} naming what is wrong.
     */
    static DecodedRequest decode(byte[] body, int jsonLength, String model, String version, long deadlineNanos) {
        BinaryInputs binary = new BinaryInputs(body, jsonLength);
        DecodedRequest decoded;
        try (JsonParser parser = MAPPER.getFactory().createParser(body, 0, jsonLength)) {
            decoded = readRequest(parser, binary, model, version, deadlineNanos);
        } catch (JsonProcessingException e) {
            throw InferenceException.invalid("request body is not valid JSON: " + JsonErrors.describe(e));
        } catch (IOException e) {
            throw InferenceException.invalid("request body could not be read: " + e.getMessage());
        }
        binary.requireAllRead();
        return decoded;
    }

    private static DecodedRequest readRequest(JsonParser parser, BinaryInputs binary, String model, String version,
            long deadline) throws IOException {
        if (parser.nextToken() != JsonToken.START_OBJECT) {
            throw InferenceException.invalid("request body must be a JSON object with an 'inputs' array");
        }
        String id = "";
        Map<String, Object> parameters = Map.of();
        List<Tensor> inputs = null;
        List<RequestedOutput> outputs = List.of();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            JsonToken value = parser.nextToken();
            switch (field) {
                case "id" -> {
                    if (value != JsonToken.VALUE_STRING) {
                        throw InferenceException.invalid("'id' must be a string");
                    }
                    id = parser.getText();
                }
                case "parameters" -> parameters = readParameters(parser, "request");
                case "inputs" -> inputs = readInputs(parser, binary);
                case "outputs" -> outputs = readOutputs(parser);
                default -> parser.skipChildren();
            }
        }
        if (parser.nextToken() != null) {
            throw InferenceException.invalid("request body has content after its JSON object");
        }
        if (inputs == null) {
            throw InferenceException.invalid("request has no 'inputs' array");
        }
        List<String> outputNames = outputs.stream().map(RequestedOutput::name).toList();
        InferenceRequest request = new InferenceRequest(id, model, version, inputs, outputNames, parameters, deadline);
        return new DecodedRequest(request, BinaryOutputs.of(parameters, outputs));
    }

    /**
     * Reads a {@code parameters} object; {@code owner} names where it sits in messages, such as
     * "request" or "input 'x'". A null value is rejected, since no parameter takes one.
     */
    private static Map<String, Object> readParameters(JsonParser parser, String owner) throws IOException {
        if (parser.currentToken() != JsonToken.START_OBJECT) {
            throw InferenceException.invalid(owner + " 'parameters' must be a JSON object");
        }
        JsonNode node = MAPPER.readTree(parser);
        Map<String, Object> parameters = new LinkedHashMap<>();
        node.properties().forEach(e -> {
            if (e.getValue().isNull()) {
                throw InferenceException.invalid(owner + " parameter '" + e.getKey()
                        + "' is null (expected: a boolean, number, string or object)");
            }
            parameters.put(e.getKey(), MAPPER.convertValue(e.getValue(), Object.class));
        });
        return parameters;
    }

    private static List<Tensor> readInputs(JsonParser parser, BinaryInputs binary) throws IOException {
        if (parser.currentToken() != JsonToken.START_ARRAY) {
            throw InferenceException.invalid("'inputs' must be an array of input objects");
        }
        List<Tensor> inputs = new ArrayList<>();
        while (parser.nextToken() != JsonToken.END_ARRAY) {
            inputs.add(readInput(parser, inputs.size(), binary));
        }
        return inputs;
    }

    private static Tensor readInput(JsonParser parser, int index, BinaryInputs binary) throws IOException {
        if (parser.currentToken() != JsonToken.START_OBJECT) {
            throw InferenceException.invalid("inputs[" + index + "] must be an object");
        }
        String name = null;
        DataType type = null;
        long[] shape = null;
        TensorData data = null;
        // Where "data" lies in the body when it comes before "datatype": it is decoded again from
        // there once the type is known, rather than held as a tree many times its size.
        long deferredStart = -1;
        long deferredEnd = -1;
        Map<String, Object> parameters = Map.of();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            JsonToken value = parser.nextToken();
            switch (field) {
                case "name" -> {
                    if (value != JsonToken.VALUE_STRING) {
                        throw InferenceException.invalid("inputs[" + index + "].name must be a string");
                    }
                    name = parser.getText();
                }
                case "datatype" -> type = readDatatype(parser, label(name, index));
                case "shape" -> shape = readShape(parser, label(name, index));
                case "data" -> {
                    if (type != null && name != null) {
                        ElementWriter writer = new ElementWriter(name, type);
                        writer.read(parser);
                        data = writer.finish();
                    } else {
                        deferredStart = parser.currentTokenLocation().getByteOffset();
                        parser.skipChildren();
                        deferredEnd = parser.currentLocation().getByteOffset();
                    }
                }
                case "parameters" -> parameters = readParameters(parser, label(name, index));
                default -> parser.skipChildren();
            }
        }

        if (name == null) {
            throw InferenceException.invalid("inputs[" + index + "] has no 'name'");
        }
        if (type == null) {
            throw InferenceException.invalid("input '" + name + "' has no 'datatype'");
        }
        if (shape == null) {
            throw InferenceException.invalid("input '" + name + "' has no 'shape'");
        }

        if (parameters.containsKey(BinaryInputs.SIZE_PARAMETER)) {
            if (data != null || deferredStart >= 0) {
                throw InferenceException.invalid("input '" + name + "' has both 'data' and a "
                        + BinaryInputs.SIZE_PARAMETER + " parameter (expected: one or the other)");
            }
            return new Tensor(name, type, shape,
                    binary.read(name, type, shape, parameters.get(BinaryInputs.SIZE_PARAMETER)));
        }

        if (data == null && deferredStart >= 0) {
            try (JsonParser replay = MAPPER.getFactory().createParser(binary.body(), (int) deferredStart,
                    (int) (deferredEnd - deferredStart))) {
                replay.nextToken();
                ElementWriter writer = new ElementWriter(name, type);
                writer.read(replay);
                data = writer.finish();
            }
        }
        if (data == null) {
            throw InferenceException.invalid("input '" + name + "' has no 'data'");
        }
        return new Tensor(name, type, shape, data);
    }

    private static DataType readDatatype(JsonParser parser, String input) throws IOException {
        if (parser.currentToken() != JsonToken.VALUE_STRING) {
            throw InferenceException.invalid(input + " has a 'datatype' that is not a string");
        }
        String text = parser.getText();
        return DataType.fromProtocolName(text).orElseThrow(() -> InferenceException.invalid(
                input + " has unknown datatype '" + text + "' (expected one of "
                        + Arrays.toString(DataType.values()) + ")"));
    }

    private static long[] readShape(JsonParser parser, String input) throws IOException {
        if (parser.currentToken() != JsonToken.START_ARRAY) {
            throw InferenceException.invalid(input + " has a 'shape' that is not an array");
        }
        long[] dims = new long[8];
        int rank = 0;
        while (parser.nextToken() != JsonToken.END_ARRAY) {
            if (parser.currentToken() != JsonToken.VALUE_NUMBER_INT
                    || parser.getNumberType() == JsonParser.NumberType.BIG_INTEGER
                    || parser.getLongValue() < 0) {
                throw InferenceException.invalid(input + " has shape dimension '" + parser.getText()
                        + "' (expected: a non-negative integer)");
            }
            if (rank == dims.length) {
                dims = Arrays.copyOf(dims, rank * 2);
            }
            dims[rank++] = parser.getLongValue();
        }
        return Arrays.copyOf(dims, rank);
    }

    private static List<RequestedOutput> readOutputs(JsonParser parser) throws IOException {
        if (parser.currentToken() != JsonToken.START_ARRAY) {
            throw InferenceException.invalid("'outputs' must be an array of output objects");
        }
        List<RequestedOutput> outputs = new ArrayList<>();
        while (parser.nextToken() != JsonToken.END_ARRAY) {
            String where = "outputs[" + outputs.size() + "]";
            if (parser.currentToken() != JsonToken.START_OBJECT) {
                throw InferenceException.invalid(where + " must be an object");
            }
            String name = null;
            Map<String, Object> parameters = Map.of();
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                JsonToken value = parser.nextToken();
                if (field.equals("name") && value == JsonToken.VALUE_STRING) {
                    name = parser.getText();
                } else if (field.equals("parameters")) {
                    parameters = readParameters(parser, where);
                } else {
                    parser.skipChildren();
                }
            }
            if (name == null) {
                throw InferenceException.invalid(where + " has no string 'name'");
            }
            outputs.add(new RequestedOutput(name, parameters));
        }
        return outputs;
    }

    private static String label(String name, int index) {
        return name == null ? "inputs[" + index + "]" : "input '" + name + "'";
    }
}
