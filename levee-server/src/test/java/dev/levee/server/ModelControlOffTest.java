package dev.levee.server;

import static dev.levee.server.Requests.SYNTHETIC_INFER;
import static dev.levee.server.Requests.synthetic;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelConfig;
import dev.levee.runtime.ModelRepository;
import dev.levee.runtime.SyntheticModel;
import dev.levee.server.TestNode.Reply;
import dev.levee.server.grpc.proto.RepositoryIndexRequest;
import dev.levee.server.grpc.proto.RepositoryIndexResponse;
import dev.levee.server.grpc.proto.RepositoryModelLoadRequest;
import dev.levee.server.grpc.proto.RepositoryModelUnloadRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Without explicit model control, load and unload requests are rejected with 400 (gRPC
 * INVALID_ARGUMENT) and a message that tells how to enable it, while the index still works.
 */
class ModelControlOffTest {
    private static final String NOT_ENABLED = "model control is not enabled, so models cannot be loaded or "
            + "unloaded; start the node with --model-control explicit";

    @TempDir
    Path temp;

    private TestNode node;
    private GrpcClient grpc;

    @AfterEach
    void stop() {
        if (grpc != null) {
            grpc.close();
        }
        if (node != null) {
            node.close();
        }
    }

    private void assertControlRejected(String model) {
        for (Reply reply : List.of(node.load(model), node.unload(model))) {
            assertThat(reply.status()).as(reply.body()).isEqualTo(400);
            assertThat(reply.json().get("error").asText()).isEqualTo(NOT_ENABLED);
        }
        grpc = grpc == null ? new GrpcClient(node.node.port()) : grpc;
        StatusRuntimeException load = catchThrowableOfType(StatusRuntimeException.class, () -> grpc.call(
                GrpcClient.REPOSITORY_MODEL_LOAD, RepositoryModelLoadRequest.newBuilder().setModelName(model).build()));
        assertThat(load).isNotNull();
        assertThat(load.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(load.getStatus().getDescription()).isEqualTo(NOT_ENABLED);
        StatusRuntimeException unload = catchThrowableOfType(StatusRuntimeException.class, () -> grpc.call(
                GrpcClient.REPOSITORY_MODEL_UNLOAD,
                RepositoryModelUnloadRequest.newBuilder().setModelName(model).build()));
        assertThat(unload).isNotNull();
        assertThat(unload.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(unload.getStatus().getDescription()).isEqualTo(NOT_ENABLED);
    }

    @Test
    void fixedModelsAreIndexedButNotControlled() throws Exception {
        ModelConfig config = ModelConfig.defaults("synthetic", "synthetic");
        SyntheticModel model = new SyntheticModel("synthetic", "1", SyntheticModel.ServiceTime.sleeping(0), null);
        node = TestNode.start(List.of(new LoadedModel(config, "1", model)));

        assertControlRejected("synthetic");
        assertControlRejected("../anything");

        JsonNode index = node.index();
        assertThat(index).hasSize(1);
        assertThat(index.get(0).toString())
                .isEqualTo("{\"name\":\"synthetic\",\"version\":\"1\",\"state\":\"READY\",\"reason\":\"\"}");
        RepositoryIndexResponse grpcIndex = grpc.call(GrpcClient.REPOSITORY_INDEX,
                RepositoryIndexRequest.getDefaultInstance());
        assertThat(grpcIndex.getModelsCount()).isEqualTo(1);
        assertThat(grpcIndex.getModels(0).getState()).isEqualTo("READY");
        assertThat(node.post(SYNTHETIC_INFER, synthetic(1)).status()).isEqualTo(200);
    }

    @Test
    void repositoryModelsAllLoadAndStayLoaded() throws Exception {
        TestRepository files = new TestRepository(temp).synthetic("a", "", 1).synthetic("b", "", 1, 2);
        ModelRepository repository = files.open();
        node = TestNode.start(NodeOptions.defaults(), repository, ModelControlMode.NONE, List.of(),
                repository::loadVersion);

        assertThat(node.indexState("a", "1")).isEqualTo("READY");
        assertThat(node.indexState("b", "2")).isEqualTo("READY");
        assertControlRejected("a");
        assertThat(node.indexState("a", "1")).isEqualTo("READY");
        assertThat(node.post("/v2/models/a/infer", synthetic(1)).status()).isEqualTo(200);
        assertThat(node.get("/v2/health/ready").status()).isEqualTo(200);
    }

    @Test
    void startupModelsNeedExplicitControl() {
        ModelRepository repository = new TestRepository(temp).synthetic("a", "", 1).open();
        assertThatThrownBy(() -> LeveeNode.start(NodeOptions.defaults().withHost("127.0.0.1").withPort(0), repository,
                ModelControlMode.NONE, List.of("a")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected: none unless model control is explicit");
    }

    @Test
    void modelThatFailsAtStartStopsTheStart() {
        ModelRepository repository = new TestRepository(temp).synthetic("a", "", 1).corruptOnnx("broken", 1).open();
        assertThatThrownBy(() -> LeveeNode.start(NodeOptions.defaults().withHost("127.0.0.1").withPort(0), repository,
                ModelControlMode.NONE, List.of()))
                .isInstanceOf(java.io.IOException.class)
                .hasMessageContaining("model 'broken' could not be loaded at start")
                .hasMessageContaining("version 1");
    }
}
