package dev.levee.server;

import com.google.protobuf.MessageLite;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A gRPC call written by hand over HTTP/2, for what a stock client hides: this one sends any
 * headers it is given, such as a {@code grpc-timeout}, without enforcing the deadline itself.
 */
final class RawGrpcCall {
    private static final long TIMEOUT_SECONDS = 30;

    private RawGrpcCall() {}

    /** The outcome of a call, with grpc-status and grpc-message from the trailers or a trailers-only reply. */
    record Reply(int httpStatus, String grpcStatus, String grpcMessage, MultiMap trailers, Buffer body) {}

    static Reply unary(int port, String method, MessageLite message, Map<String, String> headers) throws Exception {
        Vertx vertx = Vertx.vertx();
        try {
            HttpClient client = vertx.createHttpClient(new HttpClientOptions()
                    .setProtocolVersion(HttpVersion.HTTP_2)
                    .setHttp2ClearTextUpgrade(false));
            byte[] payload = message.toByteArray();
            // gRPC message framing: a compressed flag of 0 and the length as 4 big-endian bytes.
            Buffer frame = Buffer.buffer().appendByte((byte) 0).appendInt(payload.length).appendBytes(payload);
            return client.request(HttpMethod.POST, port, "127.0.0.1", "/inference.GRPCInferenceService/" + method)
                    .compose(request -> {
                        request.putHeader("content-type", "application/grpc").putHeader("te", "trailers");
                        headers.forEach(request::putHeader);
                        return request.send(frame);
                    })
                    .compose(response -> response.body().map(body -> {
                        MultiMap source = response.headers().contains("grpc-status")
                                ? response.headers()
                                : response.trailers();
                        return new Reply(response.statusCode(), source.get("grpc-status"), source.get("grpc-message"),
                                response.trailers(), body);
                    }))
                    .toCompletionStage().toCompletableFuture().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }
}
