package dev.levee.server;

import static java.util.Objects.requireNonNull;

import dev.levee.core.ErrorKind;
import dev.levee.core.InferenceRequest;
import dev.levee.core.InferenceResponse;
import dev.levee.core.Tensor;
import java.util.Optional;

/**
 * A client of one transport of the v2 protocol, so a test can send the same inference request over
 * REST JSON, REST binary and gRPC and compare what comes back. The request's deadline and priority
 * are not sent.
 */
interface ProtocolClient extends AutoCloseable {

    /** Sends the request and waits for the outcome, at most 30 s. */
    Outcome infer(InferenceRequest request);

    /** The status this transport reports for an error kind, as {@link Outcome.Failure#status()} holds it. */
    String statusOf(ErrorKind kind);

    @Override
    void close();

    /** What came back for one request. */
    sealed interface Outcome {
        /** Returns this outcome as a success, failing the test if the request failed. */
        default Success success() {
            if (this instanceof Success success) {
                return success;
            }
            Failure failure = (Failure) this;
            throw new AssertionError("request failed with " + failure.status() + ": " + failure.message());
        }

        /** Returns this outcome as a failure, failing the test if the request succeeded. */
        default Failure failure() {
            if (this instanceof Failure failure) {
                return failure;
            }
            throw new AssertionError("request succeeded (expected: a failure): " + ((Success) this).response());
        }

        /** A response, decoded into the protocol-neutral form. */
        record Success(InferenceResponse response) implements Outcome {
            public Success {
                requireNonNull(response, "response");
            }

            /** The output with this name; fails the test when the response lacks it. */
            Tensor output(String name) {
                return response.outputs().stream().filter(t -> t.name().equals(name)).findFirst()
                        .orElseThrow(() -> new AssertionError("response has no output '" + name + "': "
                                + response.outputs()));
            }
        }

        /**
         * An error: the HTTP status code or gRPC status name, the message, and the retry hint in
         * seconds (Retry-After or grpc-retry-pushback-ms) when there was one.
         */
        record Failure(String status, String message, Optional<Long> retryAfterSeconds) implements Outcome {}
    }
}
