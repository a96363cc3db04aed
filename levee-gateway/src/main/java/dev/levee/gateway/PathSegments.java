package dev.levee.gateway;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Percent-decoding and encoding of request path segments. */
final class PathSegments {
    private PathSegments() {}

    /** Splits a path into decoded segments; empty when a segment's percent-encoding is invalid. */
    static Optional<List<String>> of(String path) {
        List<String> segments = new ArrayList<>();
        for (String raw : path.split("/")) {
            if (raw.isEmpty()) {
                continue;
            }
            try {
                // URLDecoder decodes '+' as a space, which is right for forms but not for paths.
                segments.add(URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                return Optional.empty();
            }
        }
        return Optional.of(segments);
    }

    static String encode(String segment) {
        // URLEncoder encodes a space as '+', which a path does not decode back to a space.
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
