package dev.levee.gateway;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.levee.core.RequestControls;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Reads the timeout a client sets on a request, in the two ways a node accepts: the
 * {@value #HEADER} header in milliseconds, and the v2 {@code timeout} request parameter in
 * microseconds, as Triton's clients send it. Values are checked as a node checks them.
 */
final class RequestTimeout {
    static final String HEADER = "Levee-Timeout-Ms";
    /** Header of the v2 binary tensor extension: the length of the JSON part that starts the body. */
    static final String BINARY_HEADER_LENGTH = "Inference-Header-Content-Length";

    private static final JsonFactory JSON = new JsonFactory();

    private RequestTimeout() {}

    /** Returns the timeout in nanoseconds from the header, if present; throws INVALID_ARGUMENT for a bad value. */
    static OptionalLong fromHeader(String value) {
        if (value == null) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(RequestControls.timeoutNanosFromMillis(HEADER, value));
    }

    /**
     * Returns the timeout in nanoseconds from the body's top-level {@code parameters.timeout}, if
     * present; throws INVALID_ARGUMENT for a bad value. A body that is not JSON yields empty: the
     * node responds to it with the proper error. {@code jsonLength} limits the parse to the JSON part
     * of a binary-extension body, or is negative for a whole JSON body.
     */
    static OptionalLong fromBody(Buffer body, int jsonLength) {
        int length = jsonLength < 0 ? body.length() : Math.min(jsonLength, body.length());
        if (length == 0) {
            return OptionalLong.empty();
        }
        try (JsonParser parser = JSON.createParser(body.getBytes(0, length))) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return OptionalLong.empty();
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                JsonToken value = parser.nextToken();
                if (field.equals("parameters") && value == JsonToken.START_OBJECT) {
                    return timeoutParameter(parser);
                }
                parser.skipChildren();
            }
            return OptionalLong.empty();
        } catch (IOException e) {
            return OptionalLong.empty();
        }
    }

    /** Reads the fields of the {@code parameters} object, the parser standing on its start. */
    private static OptionalLong timeoutParameter(JsonParser parser) throws IOException {
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String name = parser.currentName();
            JsonToken value = parser.nextToken();
            if (name.equals(RequestControls.TIMEOUT_PARAMETER)) {
                Object timeout = value == JsonToken.VALUE_NUMBER_INT ? parser.getNumberValue() : parser.getText();
                Map<String, Object> parameters = new HashMap<>();
                parameters.put(RequestControls.TIMEOUT_PARAMETER, timeout);
                return OptionalLong.of(RequestControls.timeoutNanos(parameters).orElseThrow());
            }
            parser.skipChildren();
        }
        return OptionalLong.empty();
    }
}
