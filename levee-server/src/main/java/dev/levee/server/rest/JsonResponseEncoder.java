package dev.levee.server.rest;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.levee.core.InferenceResponse;
import dev.levee.core.ModelMetadata;
import dev.levee.core.RawTensorData;
import dev.levee.core.Tensor;
import dev.levee.core.TensorData;
import dev.levee.core.TensorMetadata;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Writes v2 JSON bodies: inference responses, model metadata, the repository index and error objects. */
public final class JsonResponseEncoder {
    private JsonResponseEncoder() {}

    /**
     * Writes the response's JSON object. An output that {@code binary} selects gets a
     * {@code binary_data_size} parameter in place of {@code data}; its bytes are the caller's to send.
     */
    static byte[] response(InferenceResponse response, BinaryOutputs binary) {
        return write(json -> {
            json.writeStartObject();
            json.writeStringField("model_name", response.model());
            json.writeStringField("model_version", response.version());
            if (!response.id().isEmpty()) {
                json.writeStringField("id", response.id());
            }
            if (!response.parameters().isEmpty()) {
                json.writeFieldName("parameters");
                JsonRequestDecoder.MAPPER.writeValue(json, response.parameters());
            }
            json.writeArrayFieldStart("outputs");
            for (Tensor output : response.outputs()) {
                json.writeStartObject();
                json.writeStringField("name", output.name());
                json.writeStringField("datatype", output.datatype().name());
                writeShape(json, output.shape());
                if (binary.isBinary(output.name())) {
                    json.writeObjectFieldStart("parameters");
                    json.writeNumberField(BinaryInputs.SIZE_PARAMETER, RawTensorData.byteSize(output.data()));
                    json.writeEndObject();
                } else {
                    json.writeFieldName("data");
                    writeData(json, output);
                }
                json.writeEndObject();
            }
            json.writeEndArray();
            json.writeEndObject();
        });
    }

    public static byte[] metadata(ModelMetadata metadata) {
        return write(json -> {
            json.writeStartObject();
            json.writeStringField("name", metadata.name());
            json.writeArrayFieldStart("versions");
            for (String version : metadata.versions()) {
                json.writeString(version);
            }
            json.writeEndArray();
            json.writeStringField("platform", metadata.platform());
            writeTensors(json, "inputs", metadata.inputs());
            writeTensors(json, "outputs", metadata.outputs());
            json.writeEndObject();
        });
    }

    /** Longest error message sent; longer ones, such as one quoting a huge input, are cut. */
    private static final int MAX_ERROR_LENGTH = 2000;

    public static byte[] error(String message) {
        if (message.length() > MAX_ERROR_LENGTH) {
            message = message.substring(0, MAX_ERROR_LENGTH) + "...";
        }
        return object(Map.of("error", message));
    }

    public static byte[] object(Map<String, ?> fields) {
        return write(json -> JsonRequestDecoder.MAPPER.writeValue(json, fields));
    }

    /** Writes a list of JSON objects, such as the rows of the repository index. */
    public static byte[] array(List<? extends Map<String, ?>> elements) {
        return write(json -> JsonRequestDecoder.MAPPER.writeValue(json, elements));
    }

    private static void writeTensors(JsonGenerator json, String field, List<TensorMetadata> tensors)
            throws IOException {
        json.writeArrayFieldStart(field);
        for (TensorMetadata tensor : tensors) {
            json.writeStartObject();
            json.writeStringField("name", tensor.name());
            json.writeStringField("datatype", tensor.datatype().name());
            writeShape(json, tensor.shape());
            json.writeEndObject();
        }
        json.writeEndArray();
    }

    private static void writeShape(JsonGenerator json, long[] shape) throws IOException {
        json.writeFieldName("shape");
        json.writeArray(shape, 0, shape.length);
    }

    private static void writeData(JsonGenerator json, Tensor tensor) throws IOException {
        json.writeStartArray();
        switch (tensor.data()) {
            case TensorData.Strings strings -> {
                for (byte[] element : strings.elements()) {
                    json.writeString(new String(element, StandardCharsets.UTF_8));
                }
            }
            case TensorData.FixedWidth fixed -> writeFixed(json, tensor, fixed.buffer());
        }
        json.writeEndArray();
    }

    private static void writeFixed(JsonGenerator json, Tensor tensor, ByteBuffer buffer) throws IOException {
        int n = (int) (buffer.remaining() / tensor.datatype().byteSize());
        int base = buffer.position();
        for (int i = 0; i < n; i++) {
            switch (tensor.datatype()) {
                case BOOL -> json.writeBoolean(buffer.get(base + i) != 0);
                case INT8 -> json.writeNumber(buffer.get(base + i));
                case UINT8 -> json.writeNumber(Byte.toUnsignedInt(buffer.get(base + i)));
                case INT16 -> json.writeNumber(buffer.getShort(base + 2 * i));
                case UINT16 -> json.writeNumber(Short.toUnsignedInt(buffer.getShort(base + 2 * i)));
                case INT32 -> json.writeNumber(buffer.getInt(base + 4 * i));
                case UINT32 -> json.writeNumber(Integer.toUnsignedLong(buffer.getInt(base + 4 * i)));
                case INT64 -> json.writeNumber(buffer.getLong(base + 8 * i));
                case UINT64 -> json.writeNumber(Long.toUnsignedString(buffer.getLong(base + 8 * i)));
                case FP16 -> json.writeNumber(Float.float16ToFloat(buffer.getShort(base + 2 * i)));
                case BF16 -> json.writeNumber(Float.intBitsToFloat(buffer.getShort(base + 2 * i) << 16));
                // Jackson quotes NaN and infinities ("NaN"), since JSON numbers cannot hold them.
                case FP32 -> json.writeNumber(buffer.getFloat(base + 4 * i));
                case FP64 -> json.writeNumber(buffer.getDouble(base + 8 * i));
                case BYTES -> throw new IllegalStateException("BYTES is not fixed-width");
            }
        }
    }

    @FunctionalInterface
    private interface Writer {
        void write(JsonGenerator json) throws IOException;
    }

    private static byte[] write(Writer writer) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator json = JsonRequestDecoder.MAPPER.getFactory().createGenerator(out)) {
            writer.write(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
