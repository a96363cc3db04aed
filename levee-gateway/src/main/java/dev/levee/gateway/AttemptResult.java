package dev.levee.gateway;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import java.util.Locale;

/** The outcome of one attempt at a node: a response with some status, or a failed exchange. */
sealed interface AttemptResult {

    /**
     * A response from the node, whose status may be an error. {@code trailers} is empty unless the
     * node sent HTTP/2 trailers, as gRPC does.
     */
    record Responded(int status, MultiMap headers, Buffer body, MultiMap trailers) implements AttemptResult {}

    /** A failed exchange, with no response. {@code detail} is for logs only. */
    record Failed(Failure failure, String detail) implements AttemptResult {}

    /** The reason an attempt got no response. */
    enum Failure {
        /** The connection could not be opened: refused, unreachable, or the connect timed out. */
        CONNECT,
        /** The connection closed or was reset before the whole response arrived. */
        RESET,
        /** No whole response arrived within the attempt's timeout. */
        TIMEOUT,
        /** The gateway's connection pool for the node had no room; the node itself may be fine. */
        POOL_FULL;

        /** Returns whether the failure counts against the node's health. */
        boolean nodeFault() {
            return this != POOL_FULL;
        }

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }
}
