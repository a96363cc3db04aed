package dev.levee.gateway;

import dev.levee.gateway.AttemptResult.Responded;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.OptionalLong;

/**
 * The protocol-specific part of forwarding, REST or gRPC: the source of the deadline and the
 * model, how the remaining deadline travels on, the meaning of a node's response, and how a
 * response is sent.
 * A node's response is judged by its HTTP status, or for gRPC by the HTTP status that matches its
 * gRPC status, so {@link ProxyCall} has one retry rule for both.
 */
sealed interface Forwarding permits RestForwarding, GrpcForwarding {

    /**
     * Checks the request before any attempt is sent, and throws INVALID_ARGUMENT for one that a
     * node would leave without a response.
     */
    void checkRequest(HttpServerRequest request, Buffer body);

    /**
     * The parts of a request that routing needs, read from it once.
     *
     * @param timeoutNanos the timeout the client set, or empty
     * @param model the model the request names, or {@link ModelKey#NONE} when any node may take it
     */
    record Routing(OptionalLong timeoutNanos, ModelKey model) {}

    /** Reads the request's timeout and model; throws INVALID_ARGUMENT for a malformed timeout. */
    Routing read(HttpServerRequest request, Buffer body);

    /** Sets the headers of an attempt that depend on the protocol, the time left before the deadline first. */
    void prepareAttempt(MultiMap headers, long remainingNanos);

    /** Returns the HTTP status of a node's response, or the HTTP status matching its gRPC status. */
    int status(Responded response);

    /** Returns the label of a node's response in the attempts metric. */
    String label(Responded response);

    /** Sends a node's response to the client. */
    void relay(HttpServerResponse out, Responded response);

    /**
     * Sends the gateway's own error, given as an HTTP status, with a retry hint when
     * {@code retryAfterSeconds} is positive.
     */
    void fail(HttpServerResponse out, int status, String message, long retryAfterSeconds);
}
