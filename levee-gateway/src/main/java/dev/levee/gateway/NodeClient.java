package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import dev.levee.gateway.AttemptResult.Failed;
import dev.levee.gateway.AttemptResult.Failure;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.util.concurrent.TimeoutException;

/**
 * Sends attempts to nodes over pooled connections, one pool per node: HTTP/1.1 keep-alive for REST,
 * or HTTP/2 cleartext with prior knowledge for gRPC. An attempt's future never fails: every
 * outcome, including a timeout or a cancellation, becomes an {@link AttemptResult}.
 */
final class NodeClient implements AutoCloseable {
    /** Requests that may wait for a connection to one node before new ones fail at once. */
    private static final int MAX_WAITING_PER_NODE = 1024;

    private final Vertx vertx;
    private final HttpClientAgent client;
    private final long connectTimeoutMillis;

    /**
     * @param version {@link HttpVersion#HTTP_1_1}, or {@link HttpVersion#HTTP_2} for gRPC
     * @param connectionsPerNode most connections to one node; over HTTP/2 each carries many streams
     */
    NodeClient(Vertx vertx, HttpVersion version, int connectionsPerNode, long connectTimeoutMillis) {
        this.vertx = requireNonNull(vertx, "vertx");
        this.connectTimeoutMillis = connectTimeoutMillis;
        HttpClientOptions options = new HttpClientOptions()
                .setKeepAlive(true)
                .setTcpNoDelay(true)
                .setConnectTimeout((int) connectTimeoutMillis)
                .setProtocolVersion(version)
                // Nodes serve HTTP/2 cleartext with prior knowledge; an upgrade would cost a round trip.
                .setHttp2ClearTextUpgrade(false);
        this.client = vertx.createHttpClient(options, new PoolOptions()
                .setHttp1MaxSize(connectionsPerNode)
                .setHttp2MaxSize(connectionsPerNode)
                .setMaxWaitQueueSize(MAX_WAITING_PER_NODE));
    }

    /**
     * Sends one request to {@code node} and reads the whole response. The attempt ends with
     * {@link Failure#TIMEOUT} after {@code timeoutMillis}, and with {@link Failure#RESET} when
     * {@code cancel} completes first (the client went away); either way the node's request is
     * reset, so a node that queued it drops it.
     */
    Future<AttemptResult> send(NodeAddress node, HttpMethod method, String uri, MultiMap headers, Buffer body,
            long timeoutMillis, Future<Void> cancel) {
        Promise<AttemptResult> result = Promise.promise();
        HttpClientRequest[] sent = {null};
        long timer = vertx.setTimer(Math.max(1, timeoutMillis), id -> {
            if (result.tryComplete(new Failed(Failure.TIMEOUT, "no response within " + timeoutMillis + " ms"))
                    && sent[0] != null) {
                sent[0].reset();
            }
        });
        cancel.onComplete(done -> {
            if (result.tryComplete(new Failed(Failure.RESET, "the client went away")) && sent[0] != null) {
                sent[0].reset();
            }
        });
        RequestOptions options = new RequestOptions()
                .setMethod(method)
                .setHost(node.host())
                .setPort(node.port())
                .setURI(uri)
                .setConnectTimeout(Math.max(1, Math.min(connectTimeoutMillis, timeoutMillis)))
                .setFollowRedirects(false);
        client.request(options)
                .compose(request -> {
                    sent[0] = request;
                    if (result.future().isComplete()) {
                        request.reset();
                        return Future.failedFuture("attempt ended before it was sent");
                    }
                    request.headers().addAll(headers);
                    return request.send(body);
                })
                .compose(response -> response.body().map(data -> (AttemptResult) new AttemptResult.Responded(
                        response.statusCode(), response.headers(), data, response.trailers())))
                .onComplete(done -> {
                    vertx.cancelTimer(timer);
                    result.tryComplete(done.succeeded() ? done.result() : classify(done.cause()));
                });
        return result.future();
    }

    private static Failed classify(Throwable cause) {
        String detail = cause.getClass().getSimpleName() + ": " + cause.getMessage();
        if (cause instanceof ConnectException || cause instanceof UnknownHostException) {
            return new Failed(Failure.CONNECT, detail);
        }
        if (cause instanceof ConnectionPoolTooBusyException) {
            return new Failed(Failure.POOL_FULL, detail);
        }
        if (cause instanceof TimeoutException) {
            return new Failed(Failure.TIMEOUT, detail);
        }
        return new Failed(Failure.RESET, detail);
    }

    @Override
    public void close() {
        client.close();
    }
}
