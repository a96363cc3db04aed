package dev.levee.server.rest;

import dev.levee.core.ErrorKind;
import dev.levee.core.InferenceException;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;

/** Reads a request body up to a size limit, failing with PAYLOAD_TOO_LARGE as soon as it is exceeded. */
final class RequestBody {
    private RequestBody() {}

    static void read(HttpServerRequest request, long maxBytes, Handler<Buffer> onBody,
            Handler<InferenceException> onError) {
        String declared = request.getHeader(HttpHeaders.CONTENT_LENGTH);
        if (declared != null) {
            long length;
            try {
                length = Long.parseLong(declared.trim());
            } catch (NumberFormatException e) {
                onError.handle(InferenceException.invalid("Content-Length '" + declared + "' is not a number"));
                return;
            }
            if (length > maxBytes) {
                onError.handle(tooLarge(length + " bytes", maxBytes));
                return;
            }
        }
        // The declared length only sizes the first allocation, up to 64 KiB: a client that declares
        // a large body and sends none must not make the node reserve it.
        int initial = declared == null ? 1024 : (int) Math.min(Long.parseLong(declared.trim()), 64 * 1024);
        Buffer body = Buffer.buffer(initial);
        boolean[] failed = {false};
        request.handler(chunk -> {
            if (failed[0]) {
                return;
            }
            if (body.length() + chunk.length() > maxBytes) {
                failed[0] = true;
                onError.handle(tooLarge("more than " + maxBytes + " bytes", maxBytes));
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

    private static InferenceException tooLarge(String size, long maxBytes) {
        return InferenceException.of(ErrorKind.PAYLOAD_TOO_LARGE,
                "request body of " + size + " exceeds the limit of " + maxBytes + " bytes");
    }
}
