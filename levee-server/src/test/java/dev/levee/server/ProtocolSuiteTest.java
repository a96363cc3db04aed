package dev.levee.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.levee.batching.BatchScheduler;
import dev.levee.core.DataType;
import dev.levee.core.ErrorKind;
import dev.levee.core.InferenceRequest;
import dev.levee.core.InferenceResponse;
import dev.levee.core.Tensor;
import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelConfig;
import dev.levee.runtime.ModelRepository;
import dev.levee.runtime.SyntheticModel;
import dev.levee.server.ProtocolClient.Outcome;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The inference contract, run unchanged over every transport: REST JSON, REST binary and gRPC.
 * A real node serves the synthetic echo model, minilm and breast_cancer. Results are compared with
 * the same request submitted to the model's scheduler in-process, which no transport touches.
 */
class ProtocolSuiteTest {
    private static final String SYNTHETIC = "synthetic";
    private static final int DIMENSIONS = 384;
    private static final long WAIT_SECONDS = 30;

    private static TestNode node;
    private static SyntheticModel synthetic;

    /** A node of its own for a test that blocks the synthetic model's batches. */
    private TestNode gatedNode;

    @BeforeAll
    static void start() throws Exception {
        synthetic = new SyntheticModel(SYNTHETIC, "1", SyntheticModel.ServiceTime.sleeping(0), null);
        ModelConfig config = ModelConfig.defaults(SYNTHETIC, SYNTHETIC).withMaxBatchSize(8)
                .withMaxQueueDelay(Duration.ofMillis(1));
        node = TestNode.start(List.of(new LoadedModel(config, "1", synthetic),
                ModelRepository.loadMiniLm(ModelRepository.miniLmConfig()), ModelRepository.loadBreastCancer()));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    @AfterEach
    void stopGatedNode() {
        if (gatedNode != null) {
            gatedNode.close();
        }
    }

    private static InferenceRequest request(String model, List<Tensor> inputs, List<String> outputs) {
        return new InferenceRequest("", model, "", inputs, outputs, Map.of(), InferenceRequest.NO_DEADLINE);
    }

    private static InferenceRequest synthetic(float... row) {
        return request(SYNTHETIC, List.of(Tensor.ofFloats(SyntheticModel.INPUT, new long[] {1, row.length}, row)),
                List.of());
    }

    private static void assertValidRequestSucceeds(ProtocolClient client) {
        Outcome.Success ok = client.infer(synthetic(1.5f, 2.5f)).success();
        assertThat(ok.output(SyntheticModel.OUTPUT).floats()).containsExactly(1.5f, 2.5f);
    }

    /** Submits the request to the model's scheduler in-process, bypassing every transport. */
    private static InferenceResponse direct(TestNode target, InferenceRequest request) throws Exception {
        BatchScheduler scheduler = target.node.registry().find(request.model(), "");
        return scheduler.submit(request).get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void syntheticEchoesIdParametersAndData(Transport transport) {
        try (ProtocolClient client = transport.connect(node)) {
            InferenceRequest request = new InferenceRequest("req-42", SYNTHETIC, "1",
                    List.of(Tensor.ofFloats(SyntheticModel.INPUT, new long[] {2, 2}, new float[] {1, 2, -3.5f, 4})),
                    List.of(), Map.of("tag", "x", "n", 3L), InferenceRequest.NO_DEADLINE);

            Outcome.Success ok = client.infer(request).success();

            assertThat(ok.response().id()).isEqualTo("req-42");
            assertThat(ok.response().model()).isEqualTo(SYNTHETIC);
            assertThat(ok.response().version()).isEqualTo("1");
            assertThat(ok.response().parameters()).containsEntry("tag", "x");
            assertThat(((Number) ok.response().parameters().get("n")).longValue()).isEqualTo(3L);
            assertThat(ok.response().outputs()).hasSize(1);
            Tensor output = ok.output(SyntheticModel.OUTPUT);
            assertThat(output.datatype()).isEqualTo(DataType.FP32);
            assertThat(output.shape()).containsExactly(2, 2);
            assertThat(output.floats()).containsExactly(1, 2, -3.5f, 4);
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void requestedOutputIsReturned(Transport transport) {
        try (ProtocolClient client = transport.connect(node)) {
            InferenceRequest request = request(SYNTHETIC,
                    List.of(Tensor.ofFloats(SyntheticModel.INPUT, new long[] {1, 1}, new float[] {2})),
                    List.of(SyntheticModel.OUTPUT));

            Outcome.Success ok = client.infer(request).success();

            assertThat(ok.response().outputs()).extracting(Tensor::name).containsExactly(SyntheticModel.OUTPUT);
            assertThat(ok.output(SyntheticModel.OUTPUT).floats()).containsExactly(2f);
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void minilmMatchesInProcessRun(Transport transport) throws Exception {
        Tensor texts = WireTensors.ofStrings("text",
                "Exam results are out.", "The ticket sale opens at nine.", "Ünïcödé text, too: 東京");
        InferenceRequest request = request(ModelRepository.MINILM, List.of(texts), List.of());
        float[] expected = direct(node, request).outputs().getFirst().floats();

        try (ProtocolClient client = transport.connect(node)) {
            Tensor embedding = client.infer(request).success().output("embedding");

            assertThat(embedding.datatype()).isEqualTo(DataType.FP32);
            assertThat(embedding.shape()).containsExactly(3, DIMENSIONS);
            float[] actual = embedding.floats();
            assertThat(actual).hasSize(expected.length);
            for (int i = 0; i < expected.length; i++) {
                assertThat(actual[i]).as("element %d", i).isCloseTo(expected[i], within(1e-5f));
            }
            for (int row = 0; row < 3; row++) {
                double norm = 0;
                for (int d = 0; d < DIMENSIONS; d++) {
                    norm += (double) actual[row * DIMENSIONS + d] * actual[row * DIMENSIONS + d];
                }
                assertThat(Math.sqrt(norm)).as("norm of row %d", row).isCloseTo(1.0, within(1e-5));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void breastCancerClassifiesTheSampleRows(Transport transport) throws Exception {
        JsonNode sample = TestNode.JSON.readTree(Path.of("..", "models", "breast_cancer", "sample_request.json")
                .toFile()).at("/inputs/0");
        float[] features = TestNode.JSON.convertValue(sample.get("data"), float[].class);
        InferenceRequest request = request(ModelRepository.BREAST_CANCER,
                List.of(Tensor.ofFloats("input", new long[] {2, 30}, features)), List.of());
        InferenceResponse expected = direct(node, request);

        try (ProtocolClient client = transport.connect(node)) {
            Outcome.Success ok = client.infer(request).success();

            Tensor label = ok.output("label");
            assertThat(label.datatype()).isEqualTo(DataType.INT64);
            assertThat(label.shape()).containsExactly(2);
            assertThat(WireTensors.longs(label)).containsExactly(0, 1);
            Tensor probabilities = ok.output("probabilities");
            assertThat(probabilities.shape()).containsExactly(2, 2);
            float[] expectedProbabilities = expected.outputs().stream()
                    .filter(t -> t.name().equals("probabilities")).findFirst().orElseThrow().floats();
            assertThat(probabilities.floats()).containsExactly(expectedProbabilities);
            // The sample's second row is benign with a probability of about 0.946 (see its README).
            assertThat(probabilities.floats()[3]).isCloseTo(0.9463f, within(1e-3f));
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void zeroRowsGetEmptyOutputs(Transport transport) {
        long executedBefore = synthetic.executedRequests();
        try (ProtocolClient client = transport.connect(node)) {
            Tensor echoed = client.infer(request(SYNTHETIC,
                    List.of(Tensor.empty(SyntheticModel.INPUT, DataType.FP32, new long[] {0, 3})), List.of()))
                    .success().output(SyntheticModel.OUTPUT);
            assertThat(echoed.shape()).containsExactly(0, 3);
            assertThat(echoed.data().elementCount()).isZero();

            Tensor embedding = client.infer(request(ModelRepository.MINILM,
                    List.of(Tensor.empty("text", DataType.BYTES, new long[] {0})), List.of()))
                    .success().output("embedding");
            assertThat(embedding.shape()).containsExactly(0, DIMENSIONS);

            Outcome.Success classified = client.infer(request(ModelRepository.BREAST_CANCER,
                    List.of(Tensor.empty("input", DataType.FP32, new long[] {0, 30})), List.of())).success();
            assertThat(classified.output("label").shape()).containsExactly(0);
            assertThat(classified.output("label").datatype()).isEqualTo(DataType.INT64);
            assertThat(classified.output("probabilities").shape()).containsExactly(0, 2);
        }
        assertThat(synthetic.executedRequests()).isEqualTo(executedBefore);
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void unknownModelGetsNotFound(Transport transport) {
        try (ProtocolClient client = transport.connect(node)) {
            InferenceRequest request = request("nope",
                    List.of(Tensor.ofFloats(SyntheticModel.INPUT, new long[] {1, 1}, new float[] {1})), List.of());

            Outcome.Failure failure = client.infer(request).failure();

            assertThat(failure.status()).isEqualTo(client.statusOf(ErrorKind.NOT_FOUND));
            assertThat(failure.message()).contains("'nope'");
            assertValidRequestSucceeds(client);
        }
    }

    static Stream<Arguments> badRequests() {
        List<Arguments> cases = new ArrayList<>();
        for (Transport transport : Transport.values()) {
            cases.add(Arguments.of(transport, "wrong datatype", "input 'INPUT0' has datatype INT32 (expected: FP32)",
                    request(SYNTHETIC, List.of(WireTensors.ofInts(SyntheticModel.INPUT, new long[] {1, 1}, 1)),
                            List.of())));
            cases.add(Arguments.of(transport, "wrong rank", "input 'INPUT0' has shape [4]",
                    request(SYNTHETIC, List.of(Tensor.ofFloats(SyntheticModel.INPUT, new long[] {4},
                            new float[] {1, 2, 3, 4})), List.of())));
            cases.add(Arguments.of(transport, "too few elements",
                    "input 'INPUT0' has shape [2, 2], which holds 4 elements, but its",
                    request(SYNTHETIC, List.of(Tensor.ofFloats(SyntheticModel.INPUT, new long[] {2, 2},
                            new float[] {1, 2, 3})), List.of())));
            cases.add(Arguments.of(transport, "too many elements",
                    "input 'INPUT0' has shape [1, 2], which holds 2 elements, but its",
                    request(SYNTHETIC, List.of(Tensor.ofFloats(SyntheticModel.INPUT, new long[] {1, 2},
                            new float[] {1, 2, 3})), List.of())));
            cases.add(Arguments.of(transport, "unknown input", "unexpected input 'WRONG'",
                    request(SYNTHETIC, List.of(Tensor.ofFloats("WRONG", new long[] {1, 1}, new float[] {1})),
                            List.of())));
            cases.add(Arguments.of(transport, "scalar to a batching model", "input 'INPUT0' is a scalar",
                    request(SYNTHETIC, List.of(Tensor.ofFloats(SyntheticModel.INPUT, new long[] {},
                            new float[] {1})), List.of())));
            cases.add(Arguments.of(transport, "unknown output", "unknown output 'OUTPUT9'",
                    request(SYNTHETIC, List.of(Tensor.ofFloats(SyntheticModel.INPUT, new long[] {1, 1},
                            new float[] {1})), List.of("OUTPUT9"))));
            cases.add(Arguments.of(transport, "text element count", "input 'text' has shape [3]",
                    request(ModelRepository.MINILM, List.of(Tensor.ofStrings("text", new long[] {3},
                            new byte[][] {{'a'}, {'b'}})), List.of())));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("badRequests")
    void badRequestNamesTheProblem(Transport transport, String label, String expectedMessage,
            InferenceRequest request) {
        try (ProtocolClient client = transport.connect(node)) {
            Outcome.Failure failure = client.infer(request).failure();

            assertThat(failure.status()).isEqualTo(client.statusOf(ErrorKind.INVALID_ARGUMENT));
            assertThat(failure.message()).contains(expectedMessage);
            assertValidRequestSucceeds(client);
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void fullQueueIsRejectedAtOnce(Transport transport) throws Exception {
        Gate gate = new Gate();
        ModelConfig config = ModelConfig.defaults(SYNTHETIC, SYNTHETIC).withMaxBatchSize(1).withMaxQueueSize(2)
                .withMaxQueueDelay(Duration.ofMillis(1));
        gatedNode = TestNode.start(List.of(new LoadedModel(config, "1",
                new SyntheticModel(SYNTHETIC, "1", gate, null))));
        BatchScheduler scheduler = gatedNode.node.registry().find(SYNTHETIC, "");
        List<CompletableFuture<InferenceResponse>> held = new ArrayList<>();
        held.add(scheduler.submit(synthetic(1)));
        gate.awaitStarted(1);
        held.add(scheduler.submit(synthetic(2)));
        held.add(scheduler.submit(synthetic(3)));
        assertThat(scheduler.queueDepth()).isEqualTo(2);

        try (ProtocolClient client = transport.connect(gatedNode)) {
            long start = System.nanoTime();
            Outcome.Failure failure = client.infer(synthetic(4)).failure();
            long elapsedMillis = (System.nanoTime() - start) / 1_000_000;

            // Generous bound: the point is that the rejection does not wait for the queue to drain,
            // which the gate keeps shut for up to 30 s.
            assertThat(elapsedMillis).isLessThan(5_000);
            assertThat(failure.status()).isEqualTo(client.statusOf(ErrorKind.OVERLOADED));
            assertThat(failure.message()).contains("over capacity");
            assertThat(failure.retryAfterSeconds()).hasValueSatisfying(seconds -> assertThat(seconds).isPositive());

            gate.openForever();
            for (int i = 0; i < held.size(); i++) {
                assertThat(held.get(i).get(WAIT_SECONDS, TimeUnit.SECONDS).outputs().getFirst().floats())
                        .containsExactly(i + 1f);
            }
            assertValidRequestSucceeds(client);
        }
    }
}
