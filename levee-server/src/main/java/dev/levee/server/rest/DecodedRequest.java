package dev.levee.server.rest;

import static java.util.Objects.requireNonNull;

import dev.levee.core.InferenceRequest;

/** A decoded REST inference request, with how the client wants each output encoded. */
record DecodedRequest(InferenceRequest request, BinaryOutputs binaryOutputs) {
    DecodedRequest {
        requireNonNull(request, "request");
        requireNonNull(binaryOutputs, "binaryOutputs");
    }
}
