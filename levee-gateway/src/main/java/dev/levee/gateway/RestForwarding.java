package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import dev.levee.gateway.AttemptResult.Responded;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/** Forwarding of the v2 REST API: the model comes from the path, the deadline from a header or the body. */
record RestForwarding(ModelKey key) implements Forwarding {

    RestForwarding {
        requireNonNull(key, "key");
    }

    /** Accepts every request: the node judges the body. */
    @Override
    public void checkRequest(HttpServerRequest request, Buffer body) {}

    /** Reads the model from the path, and the deadline as the shorter of the header and the parameter. */
    @Override
    public Routing read(HttpServerRequest request, Buffer body) {
        return new Routing(timeoutNanos(request, body), key);
    }

    /** Returns the shorter of the {@code Levee-Timeout-Ms} header and the v2 {@code timeout} parameter. */
    private static OptionalLong timeoutNanos(HttpServerRequest request, Buffer body) {
        OptionalLong header = RequestTimeout.fromHeader(request.getHeader(RequestTimeout.HEADER));
        OptionalLong parameter = OptionalLong.empty();
        if (request.method() == HttpMethod.POST) {
            parameter = RequestTimeout.fromBody(body, binaryJsonLength(request));
        }
        if (header.isEmpty()) {
            return parameter;
        }
        if (parameter.isEmpty()) {
            return header;
        }
        return OptionalLong.of(Math.min(header.getAsLong(), parameter.getAsLong()));
    }

    /** Returns the length of the JSON part of a binary-extension body, or -1 for a plain JSON body. */
    private static int binaryJsonLength(HttpServerRequest request) {
        String value = request.getHeader(RequestTimeout.BINARY_HEADER_LENGTH);
        if (value == null) {
            return -1;
        }
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    @Override
    public void prepareAttempt(MultiMap headers, long remainingNanos) {
        headers.set(RequestTimeout.HEADER, Long.toString(TimeUnit.NANOSECONDS.toMillis(remainingNanos)));
    }

    @Override
    public int status(Responded response) {
        return response.status();
    }

    @Override
    public String label(Responded response) {
        return Integer.toString(response.status());
    }

    @Override
    public void relay(HttpServerResponse out, Responded response) {
        out.setStatusCode(response.status());
        ForwardedHeaders.copyResponse(response.headers(), out.headers());
        out.end(response.body());
    }

    @Override
    public void fail(HttpServerResponse out, int status, String message, long retryAfterSeconds) {
        Replies.error(out, status, message, retryAfterSeconds);
    }
}
