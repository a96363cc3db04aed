package dev.levee.server;

import static dev.levee.server.GrpcRequests.typedSynthetic;
import static dev.levee.server.Requests.SYNTHETIC_INFER;
import static dev.levee.server.Requests.synthetic;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.common.util.concurrent.ListenableFuture;
import dev.levee.core.DataType;
import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelConfig;
import dev.levee.runtime.SyntheticModel;
import dev.levee.server.TestNode.Reply;
import dev.levee.server.grpc.proto.ModelConfigRequest;
import dev.levee.server.grpc.proto.ModelDynamicBatching;
import dev.levee.server.grpc.proto.ModelInferResponse;
import dev.levee.server.grpc.proto.ModelStatistics;
import dev.levee.server.grpc.proto.ModelStatisticsRequest;
import dev.levee.server.grpc.proto.ModelStatisticsResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Triton's model configuration and statistics extensions over REST and gRPC, against a real node
 * with a batching synthetic model and a non-batching echo model.
 */
class ConfigAndStatisticsTest {
    private static final float FAIL_MARKER = -7f;
    private static final int REQUESTS = 16;
    /** Long enough for concurrent requests to share batches, so execution_count falls below inference_count. */
    private static final Duration MAX_QUEUE_DELAY = Duration.ofMillis(20);
    /** Counts are updated just after a response is completed, so a reader may have to wait for the last one. */
    private static final Duration STATISTICS_WAIT = Duration.ofSeconds(10);

    private TestNode node;
    private SyntheticModel synthetic;
    private GrpcClient grpc;

    @BeforeEach
    void start() throws Exception {
        ModelConfig syntheticConfig = ModelConfig.defaults("synthetic", "synthetic")
                .withMaxBatchSize(8)
                .withMaxQueueSize(64)
                .withMaxQueueDelay(MAX_QUEUE_DELAY)
                .withInstanceCount(2)
                .withParameter("service_time_ms", "1");
        synthetic = new SyntheticModel("synthetic", "1", SyntheticModel.ServiceTime.sleeping(1), FAIL_MARKER);
        ModelConfig echoConfig = ModelConfig.defaults("echo", "test").withMaxBatchSize(0);
        EchoModel echo = new EchoModel("echo", DataType.FP32, DataType.BYTES);
        node = TestNode.start(NodeOptions.defaults(), List.of(
                new LoadedModel(syntheticConfig, "1", synthetic),
                new LoadedModel(echoConfig, "1", echo)));
        grpc = new GrpcClient(node.node.port());
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

    @Test
    void restConfigMatchesMetadata() {
        Reply reply = node.get("/v2/models/synthetic/config");
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        JsonNode config = reply.json();
        JsonNode metadata = node.get("/v2/models/synthetic").json();
        assertThat(config.get("name").asText()).isEqualTo("synthetic");
        assertThat(config.get("platform").asText()).isEqualTo(metadata.get("platform").asText());
        assertThat(config.get("max_batch_size").asInt()).isEqualTo(8);
        assertThat(config.get("input")).hasSize(metadata.get("inputs").size());
        JsonNode input = config.get("input").get(0);
        assertThat(input.get("name").asText()).isEqualTo(metadata.at("/inputs/0/name").asText());
        assertThat(input.get("data_type").asText()).isEqualTo("TYPE_" + metadata.at("/inputs/0/datatype").asText());
        // The metadata shape [-1, -1] starts with the batch dimension, which dims leave out.
        assertThat(input.get("dims").toString()).isEqualTo("[-1]");
        assertThat(config.at("/output/0/name").asText()).isEqualTo(metadata.at("/outputs/0/name").asText());
        assertThat(config.at("/dynamic_batching/preferred_batch_size").toString()).isEqualTo("[8]");
        assertThat(config.at("/dynamic_batching/max_queue_delay_microseconds").asLong()).isEqualTo(20_000);
        assertThat(config.at("/dynamic_batching/default_queue_policy/max_queue_size").asInt()).isEqualTo(64);
        assertThat(config.at("/instance_group/0/count").asInt()).isEqualTo(2);
        assertThat(config.at("/instance_group/0/kind").asText()).isEqualTo("KIND_CPU");
        assertThat(config.at("/version_policy/latest/num_versions").asInt()).isEqualTo(1);
        assertThat(config.at("/parameters/service_time_ms/string_value").asText()).isEqualTo("1");
    }

    @Test
    void restConfigOfModelWithoutBatching() {
        Reply reply = node.get("/v2/models/echo/versions/1/config");
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        JsonNode config = reply.json();
        assertThat(config.get("max_batch_size").asInt()).isZero();
        assertThat(config.has("dynamic_batching")).isFalse();
        // Without batching, dims are the whole shape.
        assertThat(config.at("/input/0/dims").toString()).isEqualTo("[-1,-1]");
        assertThat(config.at("/input/1/data_type").asText()).isEqualTo("TYPE_STRING");
        assertThat(config.at("/output/1/data_type").asText()).isEqualTo("TYPE_STRING");
    }

    @Test
    void restConfigErrors() {
        assertThat(node.get("/v2/models/missing/config").status()).isEqualTo(404);
        assertThat(node.get("/v2/models/synthetic/versions/2/config").status()).isEqualTo(404);
        assertThat(node.get("/v2/models/synthetic/config/extra").status()).isEqualTo(404);
        Reply post = node.post("/v2/models/synthetic/config", "{}");
        assertThat(post.status()).isEqualTo(405);
        assertThat(post.raw().headers().firstValue("Allow")).hasValue("GET");
    }

    @Test
    void restStatisticsCountInferences() throws Exception {
        long before = System.currentTimeMillis();
        List<CompletableFuture<Reply>> replies = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            replies.add(node.postAsync(SYNTHETIC_INFER, synthetic(i)));
        }
        for (CompletableFuture<Reply> reply : replies) {
            assertThat(reply.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
        }
        long after = System.currentTimeMillis();

        JsonNode model = awaitRestStatistics("/v2/models/synthetic/stats",
                stats -> stats.at("/inference_stats/success/count").asLong() == REQUESTS);
        assertThat(model.get("name").asText()).isEqualTo("synthetic");
        assertThat(model.get("version").asText()).isEqualTo("1");
        assertThat(model.get("inference_count").asLong()).isEqualTo(REQUESTS);
        long executions = model.get("execution_count").asLong();
        assertThat(executions).isBetween(1L, (long) REQUESTS);
        assertThat(executions).isEqualTo(synthetic.executedBatches());
        assertThat(model.get("last_inference").asLong()).isBetween(before, after);
        JsonNode inference = model.get("inference_stats");
        assertThat(inference.at("/success/ns").asLong()).isPositive();
        assertThat(inference.at("/fail/count").asLong()).isZero();
        assertThat(inference.at("/queue/count").asLong()).isEqualTo(REQUESTS);
        assertThat(inference.at("/queue/ns").asLong()).isPositive();
        assertThat(inference.at("/compute_infer/count").asLong()).isEqualTo(REQUESTS);
        // Each request is charged the whole run of its batch, at least the 1 ms service time.
        assertThat(inference.at("/compute_infer/ns").asLong()).isGreaterThanOrEqualTo(REQUESTS * 1_000_000L);
        assertThat(inference.at("/compute_input/count").asLong()).isZero();
        assertThat(inference.at("/compute_output/count").asLong()).isZero();
        long batchRuns = 0;
        long batchRows = 0;
        for (JsonNode batch : model.get("batch_stats")) {
            long runs = batch.at("/compute_infer/count").asLong();
            batchRuns += runs;
            batchRows += runs * batch.get("batch_size").asLong();
            assertThat(batch.at("/compute_infer/ns").asLong()).isPositive();
        }
        assertThat(batchRuns).isEqualTo(executions);
        assertThat(batchRows).isEqualTo(REQUESTS);
    }

    @Test
    void restStatisticsCountFailures() throws Exception {
        assertThat(node.post(SYNTHETIC_INFER, synthetic(FAIL_MARKER)).status()).isEqualTo(500);
        assertThat(node.post(SYNTHETIC_INFER, "{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"INT32\","
                + "\"shape\":[1,1],\"data\":[1]}]}").status()).isEqualTo(400);
        assertThat(node.post(SYNTHETIC_INFER, synthetic(1f)).status()).isEqualTo(200);

        JsonNode model = awaitRestStatistics("/v2/models/synthetic/versions/1/stats",
                stats -> stats.at("/inference_stats/fail/count").asLong() == 2
                        && stats.at("/inference_stats/success/count").asLong() == 1);
        assertThat(model.at("/inference_stats/fail/ns").asLong()).isPositive();
        // The marked request ran, so its row counts as an inference; the invalid one never reached the model.
        assertThat(model.get("inference_count").asLong()).isEqualTo(2);
        assertThat(model.at("/inference_stats/queue/count").asLong()).isEqualTo(1);
    }

    @Test
    void restStatisticsOfEveryModel() {
        Reply reply = node.get("/v2/models/stats");
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        List<String> names = new ArrayList<>();
        reply.json().get("model_stats").forEach(model -> names.add(model.get("name").asText()));
        assertThat(names).containsExactly("echo", "synthetic");
        assertThat(reply.json().at("/model_stats/0/inference_count").asLong()).isZero();
        assertThat(reply.json().at("/model_stats/0/batch_stats")).isEmpty();
    }

    @Test
    void restStatisticsErrors() {
        assertThat(node.get("/v2/models/missing/stats").status()).isEqualTo(404);
        assertThat(node.get("/v2/models/synthetic/versions/2/stats").status()).isEqualTo(404);
        assertThat(node.get("/v2/models/synthetic/versions/x/stats").status()).isEqualTo(404);
        assertThat(node.post("/v2/models/stats", "{}").status()).isEqualTo(405);
        assertThat(node.post("/v2/models/synthetic/stats", "{}").status()).isEqualTo(405);
    }

    @Test
    void grpcConfigMatchesRest() {
        dev.levee.server.grpc.proto.ModelConfig config = grpc.call(GrpcClient.MODEL_CONFIG,
                ModelConfigRequest.newBuilder().setName("synthetic").build()).getConfig();
        JsonNode rest = node.get("/v2/models/synthetic/config").json();
        assertThat(config.getName()).isEqualTo("synthetic");
        assertThat(config.getPlatform()).isEqualTo(rest.get("platform").asText());
        assertThat(config.getMaxBatchSize()).isEqualTo(8);
        assertThat(config.getInput(0).getName()).isEqualTo("INPUT0");
        assertThat(config.getInput(0).getDataType().name()).isEqualTo("TYPE_FP32");
        assertThat(config.getInput(0).getDimsList()).containsExactly(-1L);
        assertThat(config.getOutput(0).getName()).isEqualTo(rest.at("/output/0/name").asText());
        ModelDynamicBatching batching = config.getDynamicBatching();
        assertThat(batching.getPreferredBatchSizeList()).containsExactly(8);
        assertThat(batching.getMaxQueueDelayMicroseconds()).isEqualTo(20_000);
        assertThat(config.getInstanceGroup(0).getCount()).isEqualTo(2);
        assertThat(config.getVersionPolicy().getLatest().getNumVersions()).isEqualTo(1);
        assertThat(config.getParametersMap().get("service_time_ms").getStringValue()).isEqualTo("1");

        dev.levee.server.grpc.proto.ModelConfig echo = grpc.call(GrpcClient.MODEL_CONFIG,
                ModelConfigRequest.newBuilder().setName("echo").setVersion("1").build()).getConfig();
        assertThat(echo.getMaxBatchSize()).isZero();
        assertThat(echo.hasDynamicBatching()).isFalse();
        assertThat(echo.getInput(1).getDataType().name()).isEqualTo("TYPE_STRING");
    }

    @Test
    void grpcStatisticsCountInferences() throws Exception {
        List<ListenableFuture<ModelInferResponse>> calls = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            calls.add(grpc.inferAsync(typedSynthetic(i, i).build()));
        }
        for (ListenableFuture<ModelInferResponse> call : calls) {
            call.get(30, TimeUnit.SECONDS);
        }
        ModelStatisticsRequest request = ModelStatisticsRequest.newBuilder().setName("synthetic").build();
        ModelStatistics model = awaitStatistics(
                () -> grpc.call(GrpcClient.MODEL_STATISTICS, request).getModelStats(0),
                stats -> stats.getInferenceStats().getSuccess().getCount() == REQUESTS);
        assertThat(model.getName()).isEqualTo("synthetic");
        assertThat(model.getVersion()).isEqualTo("1");
        assertThat(model.getInferenceCount()).isEqualTo(REQUESTS);
        assertThat(model.getExecutionCount()).isBetween(1L, (long) REQUESTS);
        assertThat(model.getLastInference()).isPositive();
        assertThat(model.getInferenceStats().getQueue().getCount()).isEqualTo(REQUESTS);
        assertThat(model.getInferenceStats().getQueue().getNs()).isPositive();
        assertThat(model.getInferenceStats().getComputeInfer().getCount()).isEqualTo(REQUESTS);
        assertThat(model.getInferenceStats().getComputeInfer().getNs()).isPositive();
        long batchRuns = model.getBatchStatsList().stream().mapToLong(b -> b.getComputeInfer().getCount()).sum();
        assertThat(batchRuns).isEqualTo(model.getExecutionCount());

        ModelStatisticsResponse all =
                grpc.call(GrpcClient.MODEL_STATISTICS, ModelStatisticsRequest.getDefaultInstance());
        assertThat(all.getModelStatsList()).extracting(ModelStatistics::getName).containsExactly("echo", "synthetic");
    }

    @Test
    void grpcErrorsForUnknownModelOrVersion() {
        assertThat(configFailure("missing", "")).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(configFailure("synthetic", "2")).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(statisticsFailure("missing", "")).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(statisticsFailure("synthetic", "2")).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(statisticsFailure("", "1")).isEqualTo(Status.Code.INVALID_ARGUMENT);
    }

    private Status.Code configFailure(String model, String version) {
        ModelConfigRequest request = ModelConfigRequest.newBuilder().setName(model).setVersion(version).build();
        return grpcFailure(() -> grpc.call(GrpcClient.MODEL_CONFIG, request)).getStatus().getCode();
    }

    private Status.Code statisticsFailure(String model, String version) {
        ModelStatisticsRequest request =
                ModelStatisticsRequest.newBuilder().setName(model).setVersion(version).build();
        return grpcFailure(() -> grpc.call(GrpcClient.MODEL_STATISTICS, request)).getStatus().getCode();
    }

    private static StatusRuntimeException grpcFailure(Runnable call) {
        StatusRuntimeException error = catchThrowableOfType(StatusRuntimeException.class, call::run);
        assertThat(error).as("the call should have failed").isNotNull();
        return error;
    }

    /** Returns the one entry of the statistics at {@code path} once it matches {@code done}. */
    private JsonNode awaitRestStatistics(String path, Predicate<JsonNode> done) throws InterruptedException {
        return awaitStatistics(() -> {
            Reply reply = node.get(path);
            assertThat(reply.status()).as(reply.body()).isEqualTo(200);
            assertThat(reply.json().get("model_stats")).hasSize(1);
            return reply.json().at("/model_stats/0");
        }, done);
    }

    private static <T> T awaitStatistics(Supplier<T> read, Predicate<T> done) throws InterruptedException {
        long deadline = System.nanoTime() + STATISTICS_WAIT.toNanos();
        T stats = read.get();
        while (!done.test(stats)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("statistics did not reach the expected counts within "
                        + STATISTICS_WAIT.toSeconds() + " s: " + stats);
            }
            Thread.sleep(5);
            stats = read.get();
        }
        return stats;
    }
}
