package dev.levee.server.rest;

import dev.levee.core.InferenceException;

/**
 * Decodes a REST inference request body that may use the binary tensor extension: the header
 * {@code Inference-Header-Content-Length} gives the length of the JSON object at the start of the
 * body, and the bytes after it hold the data of the inputs that carry {@code binary_data_size}.
 * Without the header the whole body is the JSON object.
 */
final class BinaryRequestDecoder {
    /** Header that gives the length in bytes of the JSON object before the binary data. */
    static final String HEADER_LENGTH = "Inference-Header-Content-Length";

    private BinaryRequestDecoder() {}

    /**
     * Decodes {@code body}; {@code headerLength} is the value of {@link #HEADER_LENGTH}, or null
     * when the request has none. Throws an INVALID_ARGUMENT {@link InferenceException} naming what
     * is wrong.
     */
    static DecodedRequest decode(byte[] body, String headerLength, String model, String version,
            long deadlineNanos) {
        int jsonLength = headerLength == null ? body.length : parseHeaderLength(headerLength, body.length);
        return JsonRequestDecoder.decode(body, jsonLength, model, version, deadlineNanos);
    }

    private static int parseHeaderLength(String value, int bodyLength) {
        String text = value.trim();
        if (!text.matches("-?[0-9]+")) {
            throw InferenceException.invalid(HEADER_LENGTH + " '" + value
                    + "' is not a number (expected: the length of the JSON object in bytes)");
        }
        if (text.startsWith("-")) {
            throw InferenceException.invalid(HEADER_LENGTH + " " + text + " is negative (expected: >= 0)");
        }
        if (text.length() > 10 || Long.parseLong(text) > Integer.MAX_VALUE) {
            throw InferenceException.invalid(HEADER_LENGTH + " " + text + " does not fit in 32 bits (expected: <= "
                    + Integer.MAX_VALUE + ")");
        }
        int length = Integer.parseInt(text);
        if (length > bodyLength) {
            throw InferenceException.invalid(HEADER_LENGTH + " " + length + " is larger than the request body of "
                    + bodyLength + " bytes");
        }
        return length;
    }
}
