package dev.levee.server;

import static dev.levee.server.Requests.synthetic;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import dev.levee.runtime.ModelRepository;
import dev.levee.server.TestNode.Reply;
import dev.levee.server.grpc.proto.RepositoryModelLoadRequest;
import dev.levee.server.grpc.proto.RepositoryModelUnloadRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Load and unload names that try to leave the model repository. Each gets 400 (gRPC
 * INVALID_ARGUMENT) with one and the same message, whether or not a file exists where the name
 * points, and the node keeps serving.
 *
 * <p>Layout: {@code work/models} is the repository with the synthetic model {@code echo};
 * {@code work/outside/secret} is a model folder outside it; {@code work/models-sibling} shares the
 * repository's name as a prefix. In the repository, {@code escape} links to the outside model,
 * {@code dangling} to a folder that does not exist, and {@code sibling} to {@code models-sibling}.
 */
class PathSafetyTest {
    @TempDir
    static Path work;

    private static TestNode node;
    private static GrpcClient grpc;
    private static JsonNode indexBefore;

    @BeforeAll
    static void start() throws IOException {
        Path root = Files.createDirectory(work.resolve("models"));
        new TestRepository(root).synthetic("echo", "", 1);
        new TestRepository(work.resolve("outside")).synthetic("secret", "", 1);
        new TestRepository(work).synthetic("models-sibling", "", 1);
        Files.createSymbolicLink(root.resolve("escape"), work.resolve("outside/secret"));
        Files.createSymbolicLink(root.resolve("dangling"), work.resolve("outside/missing"));
        Files.createSymbolicLink(root.resolve("sibling"), work.resolve("models-sibling"));
        node = TestNode.explicit(ModelRepository.open(root), "echo");
        grpc = new GrpcClient(node.node.port());
        indexBefore = node.index();
    }

    @AfterAll
    static void stop() {
        if (grpc != null) {
            grpc.close();
        }
        if (node != null) {
            node.close();
        }
    }

    /**
     * Sends a POST whose request line carries exactly {@code rawPath}, over a plain socket, since
     * java.net.URI rejects malformed escapes such as {@code %ZZ} that a hostile client may send.
     */
    private static Reply postRaw(String rawPath) {
        try (Socket socket = new Socket(InetAddress.getByName("127.0.0.1"), node.node.port())) {
            socket.setSoTimeout(30_000);
            String request = "POST " + rawPath + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
                    + "Connection: close\r\n\r\n";
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int status = Integer.parseInt(response.substring(9, 12));
            String body = response.substring(response.indexOf("\r\n\r\n") + 4);
            return new Reply(status, body, null);
        } catch (IOException e) {
            throw new AssertionError("request to " + rawPath + " failed: " + e, e);
        }
    }

    private static void assertNodeUnchanged() {
        assertThat(node.post("/v2/models/echo/infer", synthetic(3)).status()).isEqualTo(200);
        assertThat(node.index()).as("no name reached the registry").isEqualTo(indexBefore);
    }

    /** Raw path text between {@code /v2/repository/models/} and {@code /load} or {@code /unload}. */
    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {
        "..", ".", "%2E%2E", "%2e", "..%2Foutside%2Fsecret", "%2E%2E%2Foutside%2Fsecret", "..%2Foutside%2Fmissing",
        "echo%2F1", "..%5Coutside%5Csecret", "echo%5C1", "%2Fetc%2Fpasswd", "%2Fno%2Fsuch%2Ffile", "%00", "echo%00",
        "echo%00x", "%252F", "..%252F", "%252E%252E", "escape", "dangling", "sibling", "", "/etc/passwd",
        "../outside/secret", "echo/1", "%ZZ", "%C0%AE%C0%AE", ".hidden", "echo%20"})
    void restNameOutsideRepositoryGets400(String rawName) {
        for (String action : new String[] {"load", "unload"}) {
            Reply reply = postRaw("/v2/repository/models/" + rawName + "/" + action);
            assertThat(reply.status()).as("%s of [%s]: %s", action, rawName, reply.body()).isEqualTo(400);
            assertThat(reply.json().get("error").asText()).as("%s of [%s]", action, rawName)
                    .isEqualTo(ModelRepository.INVALID_NAME_MESSAGE);
        }
        assertNodeUnchanged();
    }

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {
        "..", ".", "", "../outside/secret", "../outside/missing", "echo/1", "echo\\1", "..\\outside",
        "/etc/passwd", "/no/such/file", "echo\0", "\0", "escape", "dangling", "sibling", "%2e%2e", "%2F",
        "C:\\Windows", "~", "echo "})
    void grpcNameOutsideRepositoryGetsInvalidArgument(String name) {
        StatusRuntimeException load = catchThrowableOfType(StatusRuntimeException.class, () -> grpc.call(
                GrpcClient.REPOSITORY_MODEL_LOAD, RepositoryModelLoadRequest.newBuilder().setModelName(name).build()));
        StatusRuntimeException unload = catchThrowableOfType(StatusRuntimeException.class, () -> grpc.call(
                GrpcClient.REPOSITORY_MODEL_UNLOAD,
                RepositoryModelUnloadRequest.newBuilder().setModelName(name).build()));
        for (StatusRuntimeException error : new StatusRuntimeException[] {load, unload}) {
            assertThat(error).as("[%s] should fail", name).isNotNull();
            assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(error.getStatus().getDescription()).isEqualTo(ModelRepository.INVALID_NAME_MESSAGE);
        }
        assertNodeUnchanged();
    }

    @Test
    void validNameStillLoads() {
        assertThat(postRaw("/v2/repository/models/echo/load").status()).isEqualTo(200);
        assertThat(postRaw("/v2/repository/models/ech%6F/load").status()).as("an encoded letter decodes once")
                .isEqualTo(200);
        assertNodeUnchanged();
    }
}
