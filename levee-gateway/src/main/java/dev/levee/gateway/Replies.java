package dev.levee.gateway;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** The gateway's own JSON responses, in the shapes a node uses: {@code {"error": "..."}} and health bodies. */
final class Replies {
    private static final JsonFactory JSON = new JsonFactory();
    static final String JSON_TYPE = "application/json";

    private Replies() {}

    /** Sends {@code {"error": message}}, with Retry-After when {@code retryAfterSeconds} is positive. */
    static void error(HttpServerResponse response, int status, String message, long retryAfterSeconds) {
        if (retryAfterSeconds > 0) {
            response.putHeader(HttpHeaders.RETRY_AFTER, Long.toString(retryAfterSeconds));
        }
        send(response, status, object("error", message));
    }

    /** Sends {@code {name: value}} for a boolean health field. */
    static void health(HttpServerResponse response, String name, boolean value) {
        send(response, value ? 200 : 503, object(name, value));
    }

    private static void send(HttpServerResponse response, int status, Buffer body) {
        if (response.ended() || response.closed()) {
            return;
        }
        response.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, JSON_TYPE).end(body);
    }

    private static Buffer object(String name, Object value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator generator = JSON.createGenerator(out)) {
            generator.writeStartObject();
            generator.writeFieldName(name);
            if (value instanceof Boolean flag) {
                generator.writeBoolean(flag);
            } else {
                generator.writeString(value.toString());
            }
            generator.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("writing JSON to memory failed", e);
        }
        return Buffer.buffer(out.toByteArray());
    }
}
