package dev.levee.server.rest;

import dev.levee.core.InferenceException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Splits a request path into percent-decoded segments. */
final class PathSegments {
    private PathSegments() {}

    static List<String> of(String path) {
        List<String> segments = new ArrayList<>();
        for (String raw : path.split("/")) {
            if (raw.isEmpty()) {
                continue;
            }
            try {
                segments.add(decode(raw));
            } catch (IllegalArgumentException e) {
                throw InferenceException.invalid("path segment '" + raw + "' has an invalid percent-encoding");
            }
        }
        return segments;
    }

    /**
     * Percent-decodes part of a path once. Throws IllegalArgumentException for an invalid
     * percent-encoding.
     */
    static String decode(String raw) {
        // URLDecoder decodes '+' as a space, which is right for forms but not for paths.
        return URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
    }
}
