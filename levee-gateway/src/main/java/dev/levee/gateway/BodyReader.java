package dev.levee.gateway;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;

/** Reads a request body up to a size limit, reporting as soon as the limit is exceeded. */
final class BodyReader {
    private BodyReader() {}

    /**
     * Reads the body of {@code request}. Calls {@code onBody} with the whole body, or
     * {@code onTooLarge} with a message once the body passes {@code maxBytes}, and nothing when
     * the client goes away first.
     */
    static void read(HttpServerRequest request, long maxBytes, Handler<Buffer> onBody, Handler<String> onTooLarge) {
        String declared = request.getHeader(HttpHeaders.CONTENT_LENGTH);
        long declaredLength = -1;
        if (declared != null) {
            try {
                declaredLength = Long.parseLong(declared.trim());
            } catch (NumberFormatException e) {
                // An unparsable Content-Length is ignored: the limit then applies to the bytes that arrive.
                declaredLength = -1;
            }
            if (declaredLength > maxBytes) {
                onTooLarge.handle(tooLarge(declaredLength + " bytes", maxBytes));
                return;
            }
        }
        // The declared length only sizes the first allocation, up to 64 KiB: a client that declares
        // a large body and sends none must not make the gateway reserve it.
        Buffer body = Buffer.buffer(declaredLength > 0 ? (int) Math.min(declaredLength, 64 * 1024) : 256);
        boolean[] failed = {false};
        request.handler(chunk -> {
            if (failed[0]) {
                return;
            }
            if (body.length() + chunk.length() > maxBytes) {
                failed[0] = true;
                onTooLarge.handle(tooLarge("more than " + maxBytes + " bytes", maxBytes));
                return;
            }
            body.appendBuffer(chunk);
        });
        request.endHandler(end -> {
            if (!failed[0]) {
                onBody.handle(body);
            }
        });
        request.exceptionHandler(error -> failed[0] = true);
    }

    private static String tooLarge(String size, long maxBytes) {
        return "request body of " + size + " exceeds the limit of " + maxBytes + " bytes";
    }
}
