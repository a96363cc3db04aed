package dev.levee.gateway;

import static dev.levee.gateway.TestCluster.assertOk;
import static dev.levee.gateway.TestCluster.await;
import static dev.levee.gateway.TestCluster.awaitTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.levee.gateway.TestCluster.TestNode;
import dev.levee.server.grpc.proto.InferParameter;
import dev.levee.server.grpc.proto.ModelConfigRequest;
import dev.levee.server.grpc.proto.ModelConfigResponse;
import dev.levee.server.grpc.proto.ModelInferRequest;
import dev.levee.server.grpc.proto.ModelInferResponse;
import dev.levee.server.grpc.proto.ModelMetadataRequest;
import dev.levee.server.grpc.proto.ModelMetadataResponse;
import dev.levee.server.grpc.proto.RepositoryIndexRequest;
import dev.levee.server.grpc.proto.RepositoryIndexResponse;
import dev.levee.server.grpc.proto.RepositoryModelLoadRequest;
import dev.levee.server.grpc.proto.ModelStatisticsRequest;
import dev.levee.server.grpc.proto.ModelStatisticsResponse;
import dev.levee.server.grpc.proto.ServerLiveRequest;
import dev.levee.server.grpc.proto.ServerReadyRequest;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** gRPC calls from a stock grpc-java client through a real gateway to real in-process nodes. */
class GatewayGrpcTest {
    private static final Metadata.Key<String> RETRY_PUSHBACK =
            Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);
    private static final long DEADLINE_MILLIS = 10_000;

    private final TestCluster cluster = new TestCluster();
    private GrpcTestClient client;

    @AfterEach
    void stop() throws Exception {
        if (client != null) {
            client.close();
        }
        cluster.close();
    }

    private void connect() {
        client = new GrpcTestClient(cluster.gatewayPort());
    }

    private static StatusRuntimeException failure(Runnable call) {
        StatusRuntimeException error = catchThrowableOfType(StatusRuntimeException.class, call::run);
        assertThat(error).as("the call should have failed").isNotNull();
        return error;
    }

    @Test
    void inferReachesANodeAndComesBack() throws Exception {
        TestNode first = cluster.startNode(0);
        TestNode second = cluster.startNode(0);
        cluster.startGateway(TestCluster.options().build());
        connect();
        for (int i = 0; i < 20; i++) {
            ModelInferResponse response = client.infer(i, DEADLINE_MILLIS);
            assertThat(GrpcTestClient.firstOutput(response)).isEqualTo(i);
            assertThat(response.getModelName()).isEqualTo("synthetic");
        }
        assertThat(first.model().executedRequests() + second.model().executedRequests()).isEqualTo(20);
        assertThat(cluster.gatewayMetric("levee_gateway_requests_total{outcome=\"success\"}")).isEqualTo(20);
        ModelMetadataResponse metadata = client.call(GrpcTestClient.MODEL_METADATA,
                ModelMetadataRequest.newBuilder().setName("synthetic").build(), DEADLINE_MILLIS);
        assertThat(metadata.getInputs(0).getName()).isEqualTo("INPUT0");
    }

    @Test
    void gatewayAnswersHealthItself() throws Exception {
        cluster.startNode(0);
        cluster.startGateway(TestCluster.options().build());
        connect();
        assertThat(client.call(GrpcTestClient.SERVER_LIVE, ServerLiveRequest.getDefaultInstance(), DEADLINE_MILLIS)
                .getLive()).isTrue();
        assertThat(client.call(GrpcTestClient.SERVER_READY, ServerReadyRequest.getDefaultInstance(), DEADLINE_MILLIS)
                .getReady()).isTrue();
        cluster.kill(cluster.nodes().getFirst());
        awaitTrue(() -> !cluster.gateway().ready(), "the gateway sees no node ready");
        assertThat(client.call(GrpcTestClient.SERVER_READY, ServerReadyRequest.getDefaultInstance(), DEADLINE_MILLIS)
                .getReady()).isFalse();
        StatusRuntimeException error = failure(() -> client.infer(1, DEADLINE_MILLIS));
        assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(error.getTrailers().get(RETRY_PUSHBACK)).isEqualTo("1000");
    }

    @Test
    void unknownModelGetsNotFoundWithoutAttempts() throws Exception {
        cluster.startNode(0);
        cluster.startGateway(TestCluster.options().build());
        connect();
        StatusRuntimeException error = failure(() -> client.call(GrpcTestClient.MODEL_INFER,
                GrpcTestClient.synthetic("absent", 1), DEADLINE_MILLIS));
        assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(error.getStatus().getDescription()).contains("absent");
        assertThat(cluster.gatewayMetricSum("levee_gateway_attempts_total")).isZero();
    }

    @Test
    void internalErrorIsRetriedOnceAndRelayed() throws Exception {
        cluster.startNode(0);
        cluster.startNode(0);
        cluster.startNode(0);
        cluster.startGateway(TestCluster.options().build());
        connect();
        StatusRuntimeException error = failure(() -> client.infer(TestCluster.FAIL_MARKER, DEADLINE_MILLIS));
        assertThat(error.getStatus().getCode()).as(error.getStatus().toString()).isEqualTo(Status.Code.INTERNAL);
        assertThat(error.getStatus().getDescription()).contains("failed on a marked input");
        assertThat(cluster.gatewayMetricSum("levee_gateway_attempts_total")).isEqualTo(2);
        assertThat(cluster.gatewayMetric("levee_gateway_attempts_total{node=\"" + cluster.nodes().get(0).address()
                + "\",result=\"grpc-13\"}") + cluster.gatewayMetric("levee_gateway_attempts_total{node=\""
                + cluster.nodes().get(1).address() + "\",result=\"grpc-13\"}") + cluster.gatewayMetric(
                "levee_gateway_attempts_total{node=\"" + cluster.nodes().get(2).address() + "\",result=\"grpc-13\"}"))
                .isEqualTo(2);
    }

    @Test
    void fullNodeUnavailableIsRetriedElsewhere() throws Exception {
        TestNode full = cluster.startGatedNode(1);
        TestNode roomy = cluster.startGatedNode(256);
        cluster.startGateway(TestCluster.options().build());
        connect();
        List<CompletableFuture<HttpResponse<String>>> held = new ArrayList<>();
        held.add(cluster.sendToNode(full, 1));
        full.gate().awaitStarted(1);
        held.add(cluster.sendToNode(full, 2));
        for (int i = 0; i < 6; i++) {
            held.add(cluster.sendToNode(roomy, 10 + i));
        }
        awaitTrue(() -> cluster.gatewayNode(roomy).estimatedLoad() == 6
                && cluster.gatewayNode(full).estimatedLoad() == 2, "the gateway learns both loads");

        ExecutorService callers = Executors.newSingleThreadExecutor();
        try {
            Future<ModelInferResponse> call = callers.submit(() -> client.infer(42, DEADLINE_MILLIS));
            awaitTrue(() -> roomy.node().registry().pendingRequests() == 7, "the call reaches the roomy node");
            roomy.gate().openForever();
            full.gate().openForever();
            assertThat(GrpcTestClient.firstOutput(call.get(TestCluster.WAIT_SECONDS, TimeUnit.SECONDS)))
                    .isEqualTo(42);
        } finally {
            callers.shutdownNow();
        }
        assertThat(cluster.gatewayMetric("levee_gateway_retries_total{reason=\"503\"}")).isEqualTo(1);
        for (CompletableFuture<HttpResponse<String>> response : held) {
            assertOk(await(response));
        }
    }

    @Test
    void closedNodeCausesNoFailedCalls() throws Exception {
        cluster.startNode(2);
        TestNode doomed = cluster.startNode(2);
        cluster.startGateway(TestCluster.options().build());
        connect();
        ExecutorService callers = Executors.newFixedThreadPool(4);
        try {
            List<Future<ModelInferResponse>> calls = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                float value = i;
                calls.add(callers.submit(() -> client.infer(value, DEADLINE_MILLIS)));
                if (i == 60) {
                    cluster.kill(doomed);
                }
            }
            for (int i = 0; i < calls.size(); i++) {
                assertThat(GrpcTestClient.firstOutput(calls.get(i).get(TestCluster.WAIT_SECONDS, TimeUnit.SECONDS)))
                        .isEqualTo(i);
            }
        } finally {
            callers.shutdownNow();
        }
        assertThat(cluster.gatewayNode(doomed).serving()).isFalse();
    }

    @Test
    void deadlineEndsTheCall() throws Exception {
        cluster.startGatedNode(256);
        cluster.startGateway(TestCluster.options().build());
        connect();
        long start = System.nanoTime();
        StatusRuntimeException error = failure(() -> client.infer(1, 200));
        assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(5000);
    }

    @Test
    void timeoutParameterIsReadByTheGateway() throws Exception {
        cluster.startGatedNode(256);
        cluster.startGateway(TestCluster.options().build());
        connect();
        StatusRuntimeException invalid = failure(() -> client.call(GrpcTestClient.MODEL_INFER,
                withTimeout(InferParameter.newBuilder().setStringParam("soon").build()), DEADLINE_MILLIS));
        assertThat(invalid.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(invalid.getStatus().getDescription()).contains("timeout");
        StatusRuntimeException expired = failure(() -> client.call(GrpcTestClient.MODEL_INFER,
                withTimeout(InferParameter.newBuilder().setInt64Param(0).build()), DEADLINE_MILLIS));
        assertThat(expired.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(cluster.gatewayMetricSum("levee_gateway_attempts_total"))
                .as("both calls end at the gateway").isZero();

        // 200 ms in the message against a 10 s gRPC deadline, on a node that keeps every request waiting.
        long start = System.nanoTime();
        StatusRuntimeException late = failure(() -> client.call(GrpcTestClient.MODEL_INFER,
                withTimeout(InferParameter.newBuilder().setInt64Param(200_000).build()), DEADLINE_MILLIS));
        assertThat(late.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(5000);
    }

    @Test
    void negativeFieldLengthGetsOneAnswer() throws Exception {
        cluster.startNode(0);
        cluster.startGateway(TestCluster.options().build());
        connect();
        // model_name (field 1) with the length -3 as a 10-byte varint, which protobuf-java rejects.
        byte[] negativeLength = {0x0a, (byte) 0xfd, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
                (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01};
        StatusRuntimeException error = failure(() -> client.call(GrpcTestClient.MODEL_INFER_BYTES, negativeLength,
                DEADLINE_MILLIS));
        assertThat(error.getStatus().getCode()).as(error.getStatus().toString()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(GrpcTestClient.firstOutput(client.infer(5, DEADLINE_MILLIS))).isEqualTo(5f);
    }

    @Test
    void compressedMessageWithoutEncodingIsRejected() throws Exception {
        TestNode node = cluster.startNode(0);
        // A short attempt timeout keeps the test short where the gateway forwards such calls.
        cluster.startGateway(TestCluster.options().attemptTimeout(Duration.ofSeconds(1)).ejectAfterFailures(3).build());
        connect();
        byte[] message = GrpcTestClient.synthetic("synthetic", 1).toByteArray();
        Buffer compressedFrame = Buffer.buffer().appendByte((byte) 1).appendInt(message.length).appendBytes(message);
        Vertx vertx = Vertx.vertx();
        try {
            HttpClient http2 = vertx.createHttpClient(new HttpClientOptions()
                    .setProtocolVersion(HttpVersion.HTTP_2)
                    .setHttp2ClearTextUpgrade(false));
            RequestOptions call = new RequestOptions()
                    .setMethod(HttpMethod.POST)
                    .setHost("127.0.0.1")
                    .setPort(cluster.gatewayPort())
                    .setURI(GrpcForwarding.SERVICE_PATH + "ModelInfer")
                    .putHeader("content-type", GrpcForwarding.MEDIA_TYPE)
                    .putHeader("te", "trailers");
            for (int i = 0; i < 3; i++) {
                String status = http2.request(call)
                        .compose(request -> request.send(compressedFrame))
                        .compose(response -> response.body().map(body -> response.headers().contains("grpc-status")
                                ? response.headers().get("grpc-status")
                                : response.trailers().get("grpc-status")))
                        .toCompletionStage().toCompletableFuture().get(TestCluster.WAIT_SECONDS, TimeUnit.SECONDS);
                assertThat(status).as("grpc-status of call " + i).isEqualTo("3");
            }
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(TestCluster.WAIT_SECONDS, TimeUnit.SECONDS);
        }
        assertThat(cluster.gatewayMetricSum("levee_gateway_attempts_total")).as("attempts sent").isZero();
        assertThat(cluster.gatewayNode(node).serving()).as("node still serving").isTrue();
        assertThat(GrpcTestClient.firstOutput(client.infer(6, DEADLINE_MILLIS))).isEqualTo(6f);
    }

    private static ModelInferRequest withTimeout(InferParameter timeout) {
        return GrpcTestClient.synthetic("synthetic", 1).toBuilder().putParameters("timeout", timeout).build();
    }

    @Test
    void drainingGatewayReportsNotReadyAndStillForwards() throws Exception {
        cluster.startNode(0);
        cluster.startGateway(TestCluster.options().build());
        connect();
        assertThat(cluster.send(cluster.request("/v2/health/ready").GET().build()).statusCode()).isEqualTo(200);
        cluster.gateway().beginDrain();
        assertThat(cluster.gateway().ready()).isFalse();
        assertThat(cluster.send(cluster.request("/v2/health/ready").GET().build()).statusCode()).isEqualTo(503);
        assertThat(client.call(GrpcTestClient.SERVER_READY, ServerReadyRequest.getDefaultInstance(), DEADLINE_MILLIS)
                .getReady()).isFalse();
        HttpResponse<String> rest = cluster.send(cluster.infer(3, DEADLINE_MILLIS));
        assertOk(rest);
        assertThat(TestCluster.echoed(rest)).isEqualTo(3f);
        assertThat(GrpcTestClient.firstOutput(client.infer(4, DEADLINE_MILLIS))).isEqualTo(4f);
    }

    @Test
    void repositoryIndexIsForwardedAndLoadIsNot() throws Exception {
        cluster.startNode(0);
        cluster.startGateway(TestCluster.options().build());
        connect();
        RepositoryIndexResponse index = client.call(GrpcTestClient.REPOSITORY_INDEX,
                RepositoryIndexRequest.getDefaultInstance(), DEADLINE_MILLIS);
        assertThat(index.getModelsList()).extracting(RepositoryIndexResponse.ModelIndex::getName).contains("synthetic");
        assertThat(index.getModelsList()).extracting(RepositoryIndexResponse.ModelIndex::getState).contains("READY");
        StatusRuntimeException load = failure(() -> client.call(GrpcTestClient.REPOSITORY_LOAD,
                RepositoryModelLoadRequest.newBuilder().setModelName("synthetic").build(), DEADLINE_MILLIS));
        assertThat(load.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
        assertThat(load.getStatus().getDescription()).contains("each node");

        HttpResponse<String> restIndex = cluster.send(cluster.request("/v2/repository/index")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertOk(restIndex);
        assertThat(restIndex.body()).contains("\"synthetic\"");
        HttpResponse<String> restLoad = cluster.send(cluster.request("/v2/repository/models/synthetic/load")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertThat(restLoad.statusCode()).isEqualTo(501);
        assertThat(restLoad.body()).contains("each node");
        assertThat(cluster.gatewayMetricSum("levee_gateway_attempts_total")).as("only the two index calls")
                .isEqualTo(2);
    }

    @Test
    void configAndStatsRouteByModel() throws Exception {
        cluster.startNode(0);
        cluster.startNodeWithModel("other");
        cluster.startGateway(TestCluster.options().build());
        connect();
        for (int i = 0; i < 10; i++) {
            for (String model : List.of("synthetic", "other")) {
                ModelConfigResponse config = client.call(GrpcTestClient.MODEL_CONFIG,
                        ModelConfigRequest.newBuilder().setName(model).build(), DEADLINE_MILLIS);
                assertThat(config.getConfig().getName()).isEqualTo(model);
                ModelStatisticsResponse stats = client.call(GrpcTestClient.MODEL_STATISTICS,
                        ModelStatisticsRequest.newBuilder().setName(model).setVersion("1").build(), DEADLINE_MILLIS);
                assertThat(stats.getModelStats(0).getName()).isEqualTo(model);
            }
        }
        ModelStatisticsResponse all = client.call(GrpcTestClient.MODEL_STATISTICS,
                ModelStatisticsRequest.getDefaultInstance(), DEADLINE_MILLIS);
        assertThat(all.getModelStatsCount()).as("one node's statistics").isEqualTo(1);
        StatusRuntimeException error = failure(() -> client.call(GrpcTestClient.MODEL_CONFIG,
                ModelConfigRequest.newBuilder().setName("absent").build(), DEADLINE_MILLIS));
        assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    }
}
