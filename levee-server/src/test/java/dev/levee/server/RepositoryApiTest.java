package dev.levee.server;

import static dev.levee.server.GrpcRequests.typedSynthetic;
import static dev.levee.server.Requests.synthetic;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import dev.levee.runtime.ModelRepository;
import dev.levee.server.TestNode.Reply;
import dev.levee.server.grpc.proto.ModelReadyRequest;
import dev.levee.server.grpc.proto.ModelRepositoryParameter;
import dev.levee.server.grpc.proto.RepositoryIndexRequest;
import dev.levee.server.grpc.proto.RepositoryIndexResponse;
import dev.levee.server.grpc.proto.RepositoryIndexResponse.ModelIndex;
import dev.levee.server.grpc.proto.RepositoryModelLoadRequest;
import dev.levee.server.grpc.proto.RepositoryModelUnloadRequest;
import dev.levee.server.grpc.proto.ServerMetadataRequest;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The model repository extension over REST and gRPC with explicit model control: index, load,
 * unload, their errors, and a failed load's reason in the index.
 *
 * <p>The repository contains the synthetic models {@code a} and {@code b}, and {@code classifier},
 * a copy of the breast-cancer model. Only {@code a} loads at start.
 */
class RepositoryApiTest {
    private static final Metadata.Key<String> RETRY_PUSHBACK =
            Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);

    @TempDir
    Path temp;

    private TestRepository files;
    private ModelRepository repository;
    private TestNode node;
    private GrpcClient grpc;

    @BeforeEach
    void createRepository() {
        files = new TestRepository(temp).synthetic("a", "", 1).synthetic("b", "", 1).breastCancer("classifier", 1);
    }

    private void start(ModelControl.VersionLoader loader) throws Exception {
        node = TestNode.start(NodeOptions.defaults(), repository, ModelControlMode.EXPLICIT, List.of("a"), loader);
        grpc = new GrpcClient(node.node.port());
    }

    private void start() throws Exception {
        repository = files.open();
        start(repository::loadVersion);
    }

    @AfterEach
    void stop() {
        if (grpc != null) {
            grpc.close();
        }
        if (node != null) {
            node.close();
        }
    }

    private static String classifierRequest() throws Exception {
        return Files.readString(Path.of("../models/breast_cancer/sample_request.json"));
    }

    private static StatusRuntimeException failure(Runnable call) {
        StatusRuntimeException error = catchThrowableOfType(StatusRuntimeException.class, call::run);
        assertThat(error).as("the call should have failed").isNotNull();
        return error;
    }

    private RepositoryIndexResponse grpcIndex(boolean readyOnly) {
        return grpc.call(GrpcClient.REPOSITORY_INDEX, RepositoryIndexRequest.newBuilder().setReady(readyOnly).build());
    }

    private static List<String> rows(RepositoryIndexResponse index) {
        List<String> rows = new ArrayList<>();
        for (ModelIndex row : index.getModelsList()) {
            rows.add(row.getName() + "/" + row.getVersion() + " " + row.getState() + " " + row.getReason());
        }
        return rows;
    }

    @Test
    void restIndexListsLoadedAndUnloadedModels() throws Exception {
        start();
        Reply reply = node.index("");
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        assertThat(reply.header("Content-Type")).isEqualTo("application/json");
        JsonNode index = reply.json();
        assertThat(index).hasSize(3);
        assertThat(index.get(0).toString())
                .isEqualTo("{\"name\":\"a\",\"version\":\"1\",\"state\":\"READY\",\"reason\":\"\"}");
        assertThat(index.get(1).toString())
                .isEqualTo("{\"name\":\"b\",\"state\":\"UNAVAILABLE\",\"reason\":\"not loaded\"}");
        assertThat(index.get(2).get("name").asText()).isEqualTo("classifier");

        JsonNode ready = node.post("/v2/repository/index", "{\"ready\": true}").json();
        assertThat(ready).hasSize(1);
        assertThat(ready.get(0).get("name").asText()).isEqualTo("a");
        assertThat(node.post("/v2/repository/index", "{\"ready\": false}", null).json()).hasSize(3);
    }

    @Test
    void restIndexRejectsMalformedBody() throws Exception {
        start();
        Reply notBoolean = node.index("{\"ready\": 1}");
        assertThat(notBoolean.status()).isEqualTo(400);
        assertThat(notBoolean.json().get("error").asText()).contains("'ready' must be true or false");
        Reply notObject = node.index("[true]");
        assertThat(notObject.status()).isEqualTo(400);
        assertThat(notObject.json().get("error").asText()).contains("must be a JSON object");
        Reply notJson = node.index("{");
        assertThat(notJson.status()).isEqualTo(400);
        assertThat(notJson.json().get("error").asText()).contains("not valid JSON");
        assertThat(node.get("/v2/repository/index").status()).isEqualTo(405);
        assertThat(node.index("").status()).isEqualTo(200);
    }

    @Test
    void restLoadAndUnloadChangeWhatServes() throws Exception {
        start();
        assertThat(node.post("/v2/models/classifier/infer", classifierRequest()).status()).isEqualTo(404);

        Reply load = node.load("classifier");
        assertThat(load.status()).as(load.body()).isEqualTo(200);
        assertThat(load.body()).isEmpty();
        Reply inference = node.post("/v2/models/classifier/infer", classifierRequest());
        assertThat(inference.status()).as(inference.body()).isEqualTo(200);
        assertThat(inference.json().get("model_version").asText()).isEqualTo("1");
        assertThat(node.indexState("classifier", "1")).isEqualTo("READY");

        // tritonclient's unload_model sends this body.
        Reply unload = node.post("/v2/repository/models/classifier/unload",
                "{\"parameters\": {\"unload_dependents\": false}}", null);
        assertThat(unload.status()).as(unload.body()).isEqualTo(200);
        assertThat(node.post("/v2/models/classifier/infer", classifierRequest()).status()).isEqualTo(404);
        assertThat(node.indexState("classifier", "1")).isEqualTo("UNAVAILABLE: unloaded");
        assertThat(node.unload("classifier").status()).as("unloading twice does nothing").isEqualTo(200);

        // tritonclient's load_model sends an empty JSON object.
        assertThat(node.post("/v2/repository/models/classifier/load", "{}", null).status()).isEqualTo(200);
        assertThat(node.post("/v2/models/classifier/infer", classifierRequest()).status()).isEqualTo(200);
        assertThat(node.post("/v2/models/a/infer", synthetic(1)).status()).isEqualTo(200);
    }

    @Test
    void restRejectsUnsupportedParametersAndUnknownModels() throws Exception {
        start();
        Reply config = node.post("/v2/repository/models/b/load", "{\"parameters\": {\"config\": \"{}\"}}");
        assertThat(config.status()).isEqualTo(400);
        assertThat(config.json().get("error").asText()).contains("load parameter 'config' is not supported");
        Reply file = node.post("/v2/repository/models/b/load",
                "{\"parameters\": {\"file:1/model.onnx\": \"AAAA\"}}");
        assertThat(file.status()).isEqualTo(400);
        assertThat(file.json().get("error").asText()).contains("'file:1/model.onnx' is not supported");
        Reply dependents = node.post("/v2/repository/models/a/unload",
                "{\"parameters\": {\"unload_dependents\": \"yes\"}}");
        assertThat(dependents.status()).isEqualTo(400);
        assertThat(dependents.json().get("error").asText()).contains("'unload_dependents' must be true or false");
        assertThat(node.indexState("b", "")).isEqualTo("UNAVAILABLE: not loaded");

        Reply unknownLoad = node.load("absent");
        assertThat(unknownLoad.status()).isEqualTo(404);
        assertThat(unknownLoad.json().get("error").asText())
                .isEqualTo("model 'absent' is not found in the model repository");
        assertThat(node.unload("absent").status()).isEqualTo(404);
        assertThat(node.get("/v2/repository/models/a/load").status()).isEqualTo(405);
        assertThat(node.post("/v2/repository/models/a/reload", "").status()).isEqualTo(404);
        assertThat(node.post("/v2/models/a/infer", synthetic(1)).status()).isEqualTo(200);
    }

    @Test
    void failedLoadShowsItsReasonInTheIndex() throws Exception {
        files.corruptOnnx("broken", 1);
        start();

        Reply load = node.load("broken");

        assertThat(load.status()).isEqualTo(400);
        assertThat(load.json().get("error").asText())
                .startsWith("failed to load model 'broken': version 1: model broken version 1 failed to load");
        assertThat(node.indexState("broken", "1")).startsWith("UNAVAILABLE: model broken version 1 failed to load");
        ModelIndex grpcRow = grpcIndex(false).getModelsList().stream()
                .filter(row -> row.getName().equals("broken")).findFirst().orElseThrow();
        assertThat(grpcRow.getVersion()).isEqualTo("1");
        assertThat(grpcRow.getState()).isEqualTo("UNAVAILABLE");
        assertThat(grpcRow.getReason()).contains("failed to load");
        assertThat(node.get("/v2/health/ready").status()).as("a configured model is not ready").isEqualTo(503);
        assertThat(node.post("/v2/models/broken/infer", synthetic(1)).status()).isEqualTo(404);
        assertThat(node.post("/v2/models/a/infer", synthetic(1)).status()).isEqualTo(200);

        assertThat(node.unload("broken").status()).isEqualTo(200);
        assertThat(node.get("/v2/health/ready").status()).isEqualTo(200);
    }

    @Test
    void failedNewVersionLeavesServingVersionAlone() throws Exception {
        start();
        assertThat(node.load("classifier").status()).isEqualTo(200);
        files.corruptOnnx("classifier", 2);

        Reply load = node.load("classifier");

        assertThat(load.status()).isEqualTo(400);
        assertThat(load.json().get("error").asText()).contains("version 2:").contains("still serve");
        assertThat(node.indexState("classifier", "1")).isEqualTo("READY");
        assertThat(node.indexState("classifier", "2")).startsWith("UNAVAILABLE: model classifier version 2 failed");
        Reply inference = node.post("/v2/models/classifier/infer", classifierRequest());
        assertThat(inference.status()).isEqualTo(200);
        assertThat(inference.json().get("model_version").asText()).isEqualTo("1");
        assertThat(node.get("/v2/health/ready").status()).isEqualTo(200);
    }

    @Test
    void unreadableConfigShowsReasonWithoutVersion() throws Exception {
        files.synthetic("odd", "", 1).write("odd/config.json", "{\"platform\": ");
        start();

        Reply load = node.load("odd");

        assertThat(load.status()).isEqualTo(400);
        assertThat(load.json().get("error").asText()).contains("config.json of model odd is not valid JSON");
        assertThat(node.indexState("odd", "")).startsWith("UNAVAILABLE: config.json of model odd is not valid JSON");

        files.synthetic("odd", "");
        assertThat(node.load("odd").status()).isEqualTo(200);
        assertThat(node.indexState("odd", "")).as("the old failure is cleared").isEqualTo("absent");
        assertThat(node.indexState("odd", "1")).isEqualTo("READY");
    }

    @Test
    void grpcIndexLoadAndUnload() throws Exception {
        start();
        assertThat(rows(grpcIndex(false))).containsExactly(
                "a/1 READY ", "b/ UNAVAILABLE not loaded", "classifier/ UNAVAILABLE not loaded");
        assertThat(rows(grpcIndex(true))).containsExactly("a/1 READY ");

        grpc.call(GrpcClient.REPOSITORY_MODEL_LOAD, RepositoryModelLoadRequest.newBuilder().setModelName("b").build());
        assertThat(rows(grpcIndex(true))).containsExactly("a/1 READY ", "b/1 READY ");
        assertThat(GrpcRequests.floats(grpc.infer(typedSynthetic(4f).setModelName("b").build()), 0))
                .containsExactly(4f);

        // tritonclient's unload_model always sets unload_dependents.
        grpc.call(GrpcClient.REPOSITORY_MODEL_UNLOAD, RepositoryModelUnloadRequest.newBuilder()
                .setModelName("b")
                .putParameters("unload_dependents", ModelRepositoryParameter.newBuilder().setBoolParam(false).build())
                .build());
        assertThat(rows(grpcIndex(false))).contains("b/1 UNAVAILABLE unloaded");
        StatusRuntimeException gone = failure(() -> grpc.infer(typedSynthetic(4f).setModelName("b").build()));
        assertThat(gone.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(grpc.call(GrpcClient.MODEL_READY, ModelReadyRequest.newBuilder().setName("b").build()).getReady())
                .isFalse();
    }

    @Test
    void grpcErrorsUseTheStatusCodes() throws Exception {
        start();
        StatusRuntimeException unknown = failure(() -> grpc.call(GrpcClient.REPOSITORY_MODEL_LOAD,
                RepositoryModelLoadRequest.newBuilder().setModelName("absent").build()));
        assertThat(unknown.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(unknown.getStatus().getDescription()).isEqualTo("model 'absent' is not found in the model repository");

        StatusRuntimeException config = failure(() -> grpc.call(GrpcClient.REPOSITORY_MODEL_LOAD,
                RepositoryModelLoadRequest.newBuilder().setModelName("b")
                        .putParameters("config", ModelRepositoryParameter.newBuilder().setStringParam("{}").build())
                        .build()));
        assertThat(config.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(config.getStatus().getDescription()).contains("load parameter 'config' is not supported");

        StatusRuntimeException repositoryName = failure(() -> grpc.call(GrpcClient.REPOSITORY_INDEX,
                RepositoryIndexRequest.newBuilder().setRepositoryName("other").build()));
        assertThat(repositoryName.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(repositoryName.getStatus().getDescription()).contains("repository_name 'other' is not supported");

        StatusRuntimeException dependents = failure(() -> grpc.call(GrpcClient.REPOSITORY_MODEL_UNLOAD,
                RepositoryModelUnloadRequest.newBuilder().setModelName("a")
                        .putParameters("unload_dependents", ModelRepositoryParameter.newBuilder().setInt64Param(1).build())
                        .build()));
        assertThat(dependents.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(GrpcRequests.floats(grpc.infer(typedSynthetic(1f).setModelName("a").build()), 0))
                .containsExactly(1f);
    }

    @Test
    void grpcLoadingVersionIsUnavailableAndNotReady() throws Exception {
        repository = files.open();
        LoadGate gate = new LoadGate(repository).hold("b", 1);
        start(gate);
        CompletableFuture<Void> load = CompletableFuture.runAsync(() -> grpc.call(GrpcClient.REPOSITORY_MODEL_LOAD,
                RepositoryModelLoadRequest.newBuilder().setModelName("b").build()));
        node.awaitIndexState("b", "1", "LOADING");

        assertThat(rows(grpcIndex(false))).contains("b/1 LOADING ");
        assertThat(grpc.call(GrpcClient.MODEL_READY, ModelReadyRequest.newBuilder().setName("b").build()).getReady())
                .isFalse();
        StatusRuntimeException loading = failure(() -> grpc.infer(typedSynthetic(1f).setModelName("b").build()));
        assertThat(loading.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(loading.getStatus().getDescription()).contains("model 'b' is loading");
        assertThat(loading.getTrailers().get(RETRY_PUSHBACK)).isEqualTo("1000");

        gate.open();
        load.get(30, TimeUnit.SECONDS);
        assertThat(grpc.call(GrpcClient.MODEL_READY, ModelReadyRequest.newBuilder().setName("b").build()).getReady())
                .isTrue();
    }

    @Test
    void serverMetadataListsTheRepositoryExtension() throws Exception {
        start();
        assertThat(node.get("/v2").json().get("extensions").toString()).contains("\"model_repository\"");
        assertThat(grpc.call(GrpcClient.SERVER_METADATA, ServerMetadataRequest.getDefaultInstance())
                .getExtensionsList()).contains("model_repository");
    }
}
