package dev.levee.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.levee.runtime.LoadedModel;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** A real node on a free loopback port, with a plain JDK HTTP client pointed at it. */
final class TestNode implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    final LeveeNode node;
    private final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(TIMEOUT)
            .build();

    private TestNode(LeveeNode node) {
        this.node = node;
    }

    static TestNode start(NodeOptions options, List<LoadedModel> models) throws IOException {
        return new TestNode(LeveeNode.start(options.withHost("127.0.0.1").withPort(0), models));
    }

    static TestNode start(List<LoadedModel> models) throws IOException {
        return start(NodeOptions.defaults(), models);
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + node.port() + path);
    }

    Reply get(String path) {
        return send(HttpRequest.newBuilder(uri(path)).timeout(TIMEOUT).GET().build());
    }

    Reply post(String path, String body) {
        return post(path, body, "application/json");
    }

    Reply post(String path, String body, String contentType) {
        return send(postRequest(path, body, contentType));
    }

    CompletableFuture<Reply> postAsync(String path, String body) {
        return client.sendAsync(postRequest(path, body, "application/json"), HttpResponse.BodyHandlers.ofString())
                .thenApply(Reply::new);
    }

    private HttpRequest postRequest(String path, String body, String contentType) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri(path)).timeout(TIMEOUT)
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (contentType != null) {
            builder.header("Content-Type", contentType);
        }
        return builder.build();
    }

    Reply send(HttpRequest request) {
        try {
            return new Reply(client.send(request, HttpResponse.BodyHandlers.ofString()));
        } catch (IOException e) {
            throw new AssertionError("request to " + request.uri() + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** Sends a request and returns the response with its body as bytes. */
    HttpResponse<byte[]> sendForBytes(HttpRequest request) {
        try {
            return client.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new AssertionError("request to " + request.uri() + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    @Override
    public void close() {
        node.close();
    }

    /** A response with its body parsed as JSON where it is JSON. */
    record Reply(int status, String body, HttpResponse<String> raw) {
        Reply(HttpResponse<String> response) {
            this(response.statusCode(), response.body(), response);
        }

        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("body is not JSON: " + body, e);
            }
        }

        String header(String name) {
            return raw.headers().firstValue(name).orElse(null);
        }
    }
}
