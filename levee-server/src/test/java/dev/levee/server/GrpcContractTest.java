package dev.levee.server;

import static dev.levee.server.GrpcRequests.input;
import static dev.levee.server.GrpcRequests.rawFloats;
import static dev.levee.server.GrpcRequests.rawSynthetic;
import static dev.levee.server.GrpcRequests.typedSynthetic;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import dev.levee.core.NodeLoad;
import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelConfig;
import dev.levee.runtime.SyntheticModel;
import dev.levee.server.grpc.proto.InferParameter;
import dev.levee.server.grpc.proto.InferTensorContents;
import dev.levee.server.grpc.proto.ModelInferRequest;
import dev.levee.server.grpc.proto.ModelInferResponse;
import dev.levee.server.grpc.proto.ModelMetadataRequest;
import dev.levee.server.grpc.proto.ModelMetadataResponse;
import dev.levee.server.grpc.proto.ModelReadyRequest;
import dev.levee.server.grpc.proto.ServerLiveRequest;
import dev.levee.server.grpc.proto.ServerMetadataRequest;
import dev.levee.server.grpc.proto.ServerMetadataResponse;
import dev.levee.server.grpc.proto.ServerReadyRequest;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The error contract and the data paths that only the gRPC API has, checked with a stock grpc-java
 * client against a real node with the synthetic model, on the port shared with REST and on the
 * separate gRPC port; the cases that every transport shares run in {@link ProtocolSuiteTest}.
 * After every rejected call a valid one must still succeed.
 */
class GrpcContractTest {
    private static final float FAIL_MARKER = -7f;
    private static final int MAX_MESSAGE_BYTES = 4096;
    private static final Metadata.Key<String> LOAD =
            Metadata.Key.of(NodeLoad.HEADER, Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> RETRY_PUSHBACK =
            Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);

    /** The two ports that serve gRPC. */
    enum Port { SHARED_WITH_REST, GRPC_ONLY }

    private TestNode node;
    private SyntheticModel model;
    private GrpcClient client;

    private void start(Port port, SyntheticModel.ServiceTime serviceTime, int maxBatchSize, int maxQueueSize)
            throws Exception {
        ModelConfig config = ModelConfig.defaults("synthetic", "synthetic")
                .withMaxBatchSize(maxBatchSize)
                .withMaxQueueSize(maxQueueSize)
                .withMaxQueueDelay(Duration.ofMillis(1));
        model = new SyntheticModel("synthetic", "1", serviceTime, FAIL_MARKER);
        node = TestNode.start(NodeOptions.defaults().withGrpcPort(0).withMaxBodyBytes(MAX_MESSAGE_BYTES),
                List.of(new LoadedModel(config, "1", model)));
        client = new GrpcClient(grpcPort(port));
    }

    private void start(Port port) throws Exception {
        start(port, SyntheticModel.ServiceTime.sleeping(0), 8, 64);
    }

    private int grpcPort(Port port) {
        return switch (port) {
            case SHARED_WITH_REST -> node.node.port();
            case GRPC_ONLY -> node.node.grpcPort().orElseThrow();
        };
    }

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        if (node != null) {
            node.close();
        }
    }

    private void assertValidCallSucceeds() {
        ModelInferResponse response = client.infer(typedSynthetic(1.5f, 2.5f).build());
        assertThat(GrpcRequests.floats(response, 0)).containsExactly(1.5f, 2.5f);
    }

    private static StatusRuntimeException failure(Runnable call) {
        StatusRuntimeException error = catchThrowableOfType(StatusRuntimeException.class, call::run);
        assertThat(error).as("the call should have failed").isNotNull();
        return error;
    }

    @ParameterizedTest
    @EnumSource(Port.class)
    void healthAndMetadataDescribeTheNode(Port port) throws Exception {
        start(port);
        assertThat(client.call(GrpcClient.SERVER_LIVE, ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
        assertThat(client.call(GrpcClient.SERVER_READY, ServerReadyRequest.getDefaultInstance()).getReady()).isTrue();
        ServerMetadataResponse server = client.call(GrpcClient.SERVER_METADATA,
                ServerMetadataRequest.getDefaultInstance());
        assertThat(server.getName()).isEqualTo("levee");
        assertThat(server.getVersion()).isEqualTo(NodeState.VERSION);
        assertThat(server.getExtensionsList()).contains("binary_tensor_data");

        ModelMetadataResponse metadata = client.call(GrpcClient.MODEL_METADATA,
                ModelMetadataRequest.newBuilder().setName("synthetic").build());
        assertThat(metadata.getName()).isEqualTo("synthetic");
        assertThat(metadata.getVersionsList()).containsExactly("1");
        assertThat(metadata.getPlatform()).isEqualTo("synthetic");
        assertThat(metadata.getInputs(0).getName()).isEqualTo("INPUT0");
        assertThat(metadata.getInputs(0).getDatatype()).isEqualTo("FP32");
        assertThat(metadata.getInputs(0).getShapeList()).containsExactly(-1L, -1L);
        assertThat(metadata.getOutputs(0).getName()).isEqualTo("OUTPUT0");

        assertThat(client.call(GrpcClient.MODEL_READY,
                ModelReadyRequest.newBuilder().setName("synthetic").build()).getReady()).isTrue();
        assertThat(client.call(GrpcClient.MODEL_READY,
                ModelReadyRequest.newBuilder().setName("synthetic").setVersion("1").build()).getReady()).isTrue();
    }

    @ParameterizedTest
    @EnumSource(Port.class)
    void typedInputIsAnsweredWithTypedContents(Port port) throws Exception {
        start(port);
        ModelInferRequest request = ModelInferRequest.newBuilder()
                .setModelName("synthetic")
                .setId("req-42")
                .putParameters("tag", InferParameter.newBuilder().setStringParam("x").build())
                .putParameters("n", InferParameter.newBuilder().setInt64Param(3).build())
                .putParameters("big", InferParameter.newBuilder().setUint64Param(-1L).build())
                .putParameters("ratio", InferParameter.newBuilder().setDoubleParam(0.25).build())
                .putParameters("flag", InferParameter.newBuilder().setBoolParam(true).build())
                .addInputs(input("INPUT0", "FP32", 2, 2).setContents(InferTensorContents.newBuilder()
                        .addFp32Contents(1).addFp32Contents(2).addFp32Contents(3).addFp32Contents(4)))
                .build();

        ModelInferResponse response = client.infer(request);

        assertThat(response.getId()).isEqualTo("req-42");
        assertThat(response.getModelName()).isEqualTo("synthetic");
        assertThat(response.getModelVersion()).isEqualTo("1");
        assertThat(response.getParametersMap()).isEqualTo(request.getParametersMap());
        assertThat(response.getRawOutputContentsCount()).isZero();
        assertThat(response.getOutputs(0).getName()).isEqualTo("OUTPUT0");
        assertThat(response.getOutputs(0).getDatatype()).isEqualTo("FP32");
        assertThat(response.getOutputs(0).getShapeList()).containsExactly(2L, 2L);
        assertThat(response.getOutputs(0).getContents().getFp32ContentsList()).containsExactly(1f, 2f, 3f, 4f);
    }

    @ParameterizedTest
    @EnumSource(Port.class)
    void unknownModelOrVersionGetsNotFound(Port port) throws Exception {
        start(port);
        StatusRuntimeException version = failure(() -> client.infer(typedSynthetic(1).setModelVersion("7").build()));
        assertThat(version.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        StatusRuntimeException metadata = failure(() -> client.call(GrpcClient.MODEL_METADATA,
                ModelMetadataRequest.newBuilder().setName("nope").build()));
        assertThat(metadata.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        StatusRuntimeException ready = failure(() -> client.call(GrpcClient.MODEL_READY,
                ModelReadyRequest.newBuilder().setName("nope").build()));
        assertThat(ready.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertValidCallSucceeds();
    }

    static Stream<Arguments> badRequests() {
        List<Arguments> cases = new ArrayList<>();
        for (Port port : Port.values()) {
            for (Arguments badRequest : badRequestTable()) {
                Object[] row = badRequest.get();
                cases.add(Arguments.of(port, row[0], row[1], row[2]));
            }
        }
        return cases.stream();
    }

    private static List<Arguments> badRequestTable() {
        return List.of(
                bad("wrong datatype, typed", "datatype INT32 (expected: FP32)", () -> ModelInferRequest.newBuilder()
                        .setModelName("synthetic")
                        .addInputs(input("INPUT0", "INT32", 1, 1)
                                .setContents(InferTensorContents.newBuilder().addIntContents(1)))),
                bad("too few elements, typed",
                        "input 'INPUT0' has shape [2, 2], which holds 4 elements, but its data has 3",
                        () -> typedSynthetic(1, 2, 3).setInputs(0, input("INPUT0", "FP32", 2, 2)
                                .setContents(InferTensorContents.newBuilder()
                                        .addFp32Contents(1).addFp32Contents(2).addFp32Contents(3)))),
                bad("raw bytes not whole elements", "input 'INPUT0' has 6 bytes of raw content", () -> rawSynthetic(1)
                        .setRawInputContents(0, ByteString.copyFrom(new byte[6]))),
                bad("raw contents per input", "1 inputs but 2 raw_input_contents", () -> rawSynthetic(1)
                        .addRawInputContents(rawFloats(2))),
                bad("raw and typed mixed", "input 'INPUT0' sets contents although the request uses raw_input_contents",
                        () -> rawSynthetic(1).setInputs(0, input("INPUT0", "FP32", 1, 1)
                                .setContents(InferTensorContents.newBuilder().addFp32Contents(1)))),
                bad("contents field of another datatype", "input 'INPUT0' has datatype FP32 but sets [int_contents]",
                        () -> typedSynthetic(1).setInputs(0, input("INPUT0", "FP32", 1, 1)
                                .setContents(InferTensorContents.newBuilder().addIntContents(1)))),
                bad("unknown datatype", "input 'INPUT0' has unknown datatype 'FP17'", () -> rawSynthetic(1)
                        .setInputs(0, input("INPUT0", "FP17", 1, 1))),
                bad("negative dimension", "input 'INPUT0' has shape dimension -1", () -> rawSynthetic(1)
                        .setInputs(0, input("INPUT0", "FP32", -1, 1))),
                bad("no model name", "no model_name", () -> rawSynthetic(1).setModelName("")),
                bad("batch over maximum", "exceeds the max batch size 8", () -> rawSynthetic(1, 2, 3, 4, 5, 6, 7, 8, 9)
                        .setInputs(0, input("INPUT0", "FP32", 9, 1))),
                bad("parameter without value", "parameter 'empty' has no value", () -> rawSynthetic(1)
                        .putParameters("empty", InferParameter.getDefaultInstance())));
    }

    private static Arguments bad(String label, String expectedMessage, Supplier<ModelInferRequest.Builder> request) {
        return Arguments.of(label, request.get().build(), expectedMessage);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("badRequests")
    void badRequestGetsInvalidArgumentNamingTheProblem(Port port, String label, ModelInferRequest request,
            String expectedMessage) throws Exception {
        start(port);
        StatusRuntimeException error = failure(() -> client.infer(request));
        assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(error.getStatus().getDescription()).contains(expectedMessage);
        assertValidCallSucceeds();
    }

    @ParameterizedTest
    @EnumSource(Port.class)
    void oversizedMessageGetsResourceExhausted(Port port) throws Exception {
        start(port);
        float[] row = new float[2000];
        StatusRuntimeException error = failure(() -> client.infer(rawSynthetic(row).build()));
        assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(error.getStatus().getDescription()).contains("exceeds the limit of " + MAX_MESSAGE_BYTES);
        assertValidCallSucceeds();
    }

    @ParameterizedTest
    @EnumSource(Port.class)
    void modelFailureGetsInternalForThatCallOnly(Port port) throws Exception {
        Gate gate = new Gate();
        start(port, gate, 8, 64);
        ListenableFuture<ModelInferResponse> failing = client.inferAsync(typedSynthetic(FAIL_MARKER).build());
        ListenableFuture<ModelInferResponse> healthy = client.inferAsync(typedSynthetic(3f).build());
        gate.awaitStarted(1);
        gate.openForever();

        Throwable error = catchThrowableOfType(ExecutionException.class,
                () -> failing.get(30, TimeUnit.SECONDS)).getCause();
        Status status = Status.fromThrowable(error);
        assertThat(status.getCode()).isEqualTo(Status.Code.INTERNAL);
        assertThat(status.getDescription()).contains("failed on a marked input");
        assertThat(status.getDescription()).doesNotContain("Exception").doesNotContain("at dev.");
        assertThat(GrpcRequests.floats(healthy.get(30, TimeUnit.SECONDS), 0)).containsExactly(3f);
        assertValidCallSucceeds();
    }

    @ParameterizedTest
    @EnumSource(Port.class)
    void deadlineShorterThanHeldBatchGetsDeadlineExceeded(Port port) throws Exception {
        Gate gate = new Gate();
        start(port, gate, 1, 64);
        ListenableFuture<ModelInferResponse> held = client.inferAsync(typedSynthetic(1).build());
        gate.awaitStarted(1);

        StatusRuntimeException expired = failure(() -> client.call(GrpcClient.MODEL_INFER,
                typedSynthetic(2).build(), 200));

        assertThat(expired.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        // The client's deadline passes a little before the node's, which counts from the request's
        // arrival; the gate opens only once the node has dropped the request from its queue.
        long limit = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (node.node.registry().find("synthetic", "").queueDepth() > 0) {
            assertThat(System.nanoTime()).as("expired request leaves the queue").isLessThan(limit);
            Thread.sleep(5);
        }
        gate.openForever();
        assertThat(GrpcRequests.floats(held.get(30, TimeUnit.SECONDS), 0)).containsExactly(1f);
        assertValidCallSucceeds();
        // The held request and the valid one ran, and the expired one was dropped from the queue.
        assertThat(model.executedRequests()).isEqualTo(2);
    }

    @ParameterizedTest
    @EnumSource(Port.class)
    void serverAnswersDeadlineExceededWhenTheDeadlinePasses(Port port) throws Exception {
        Gate gate = new Gate();
        start(port, gate, 1, 64);
        ListenableFuture<ModelInferResponse> held = client.inferAsync(typedSynthetic(1).build());
        gate.awaitStarted(1);

        // This client sends grpc-timeout but does not enforce it, so only the server can end the call.
        long start = System.nanoTime();
        RawGrpcCall.Reply reply = RawGrpcCall.unary(grpcPort(port), "ModelInfer", typedSynthetic(2).build(),
                Map.of("grpc-timeout", "300m"));
        long elapsedMillis = (System.nanoTime() - start) / 1_000_000;

        assertThat(reply.httpStatus()).isEqualTo(200);
        assertThat(reply.grpcStatus()).isEqualTo(Integer.toString(Status.Code.DEADLINE_EXCEEDED.value()));
        assertThat(reply.grpcMessage()).contains("deadline");
        assertThat(elapsedMillis).isGreaterThanOrEqualTo(300).isLessThan(10_000);
        assertThat(node.get("/metrics").body())
                .contains("levee_requests_total{model=\"synthetic\",outcome=\"deadline_exceeded\"} 1.0");
        gate.openForever();
        assertThat(GrpcRequests.floats(held.get(30, TimeUnit.SECONDS), 0)).containsExactly(1f);
        assertValidCallSucceeds();
        assertThat(model.executedRequests()).isEqualTo(2);
    }

    @ParameterizedTest
    @EnumSource(Port.class)
    void malformedTimeoutHeaderGetsInvalidArgument(Port port) throws Exception {
        start(port);
        RawGrpcCall.Reply reply = RawGrpcCall.unary(grpcPort(port), "ModelInfer", typedSynthetic(2).build(),
                Map.of("grpc-timeout", "12x"));
        assertThat(reply.grpcStatus()).isEqualTo(Integer.toString(Status.Code.INVALID_ARGUMENT.value()));
        assertThat(reply.grpcMessage()).contains("grpc-timeout");
        assertValidCallSucceeds();
    }

    @ParameterizedTest
    @EnumSource(Port.class)
    void cancelledCallIsDroppedFromTheQueue(Port port) throws Exception {
        Gate gate = new Gate();
        start(port, gate, 1, 64);
        ListenableFuture<ModelInferResponse> held = client.inferAsync(typedSynthetic(1).build());
        gate.awaitStarted(1);
        ListenableFuture<ModelInferResponse> cancelled = client.inferAsync(typedSynthetic(2).build());
        waitForQueueDepth(1);

        cancelled.cancel(true);

        waitForMetric("levee_requests_total{model=\"synthetic\",outcome=\"cancelled\"} 1.0");
        gate.openForever();
        assertThat(GrpcRequests.floats(held.get(30, TimeUnit.SECONDS), 0)).containsExactly(1f);
        assertValidCallSucceeds();
        assertThat(model.executedRequests()).isEqualTo(2);
    }

    @ParameterizedTest
    @EnumSource(Port.class)
    void drainingNodeIsNotReadyAndRejectsNewWork(Port port) throws Exception {
        start(port);
        node.node.state().drain();
        assertThat(client.call(GrpcClient.SERVER_READY, ServerReadyRequest.getDefaultInstance()).getReady()).isFalse();
        assertThat(client.call(GrpcClient.SERVER_LIVE, ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
        StatusRuntimeException error = failure(() -> client.infer(typedSynthetic(1).build()));
        assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(error.getTrailers().get(RETRY_PUSHBACK)).isEqualTo("1000");
    }

    @ParameterizedTest
    @EnumSource(Port.class)
    void responsesCarryTheLoadReport(Port port) throws Exception {
        start(port);
        AtomicReference<Metadata> headers = new AtomicReference<>();
        AtomicReference<Metadata> trailers = new AtomicReference<>();
        client.infer(typedSynthetic(1).build(), headers, trailers);
        assertThat(headers.get().get(LOAD)).isEqualTo("0");

        // A failure without a response message sends its metadata with the status, as trailers.
        failure(() -> client.infer(typedSynthetic(1).setModelName("missing").build(), headers, trailers));
        assertThat(trailers.get().get(LOAD)).isEqualTo("0");
        node.node.state().drain();
        failure(() -> client.infer(typedSynthetic(1).build(), headers, trailers));
        assertThat(trailers.get().get(LOAD)).isEqualTo("0;ready=false");
    }

    @Test
    void metricsCountGrpcRequestsByOutcome() throws Exception {
        start(Port.SHARED_WITH_REST);
        assertValidCallSucceeds();
        failure(() -> client.infer(typedSynthetic(1).setInputs(0, input("INPUT0", "INT32", 1, 1)).build()));
        String metrics = node.get("/metrics").body();
        assertThat(metrics).contains("levee_requests_total{model=\"synthetic\",outcome=\"success\"} 1.0");
        assertThat(metrics).contains("levee_requests_total{model=\"synthetic\",outcome=\"invalid_argument\"} 1.0");
    }

    @Test
    void restStillWorksOnTheSharedPort() throws Exception {
        start(Port.SHARED_WITH_REST);
        assertValidCallSucceeds();
        TestNode.Reply reply = node.post(Requests.SYNTHETIC_INFER, Requests.synthetic(2.5f));
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.json().at("/outputs/0/data/0").floatValue()).isEqualTo(2.5f);
    }

    @Test
    void grpcOnlyPortRejectsRestRequests() throws Exception {
        start(Port.GRPC_ONLY);
        URI live = URI.create("http://127.0.0.1:" + node.node.grpcPort().orElseThrow() + "/v2/health/live");
        HttpResponse<String> response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(live).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
        // Vert.x's gRPC server responds 415 to any request whose content type is not gRPC.
        assertThat(response.statusCode()).isEqualTo(415);
        assertValidCallSucceeds();
    }

    private void waitForQueueDepth(int depth) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (node.node.registry().find("synthetic", "").queueDepth() < depth) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("queue did not reach depth " + depth + " within 30 s");
            }
            Thread.sleep(5);
        }
    }

    private void waitForMetric(String line) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!node.get("/metrics").body().contains(line)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("metrics did not show " + line + " within 30 s");
            }
            Thread.sleep(10);
        }
    }
}
