package dev.levee.server;

import static dev.levee.server.GrpcRequests.input;
import static dev.levee.server.GrpcRequests.rawStrings;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import dev.levee.runtime.ModelRepository;
import dev.levee.server.GrpcContractTest.Port;
import dev.levee.server.grpc.proto.InferTensorContents;
import dev.levee.server.grpc.proto.ModelInferRequest;
import dev.levee.server.grpc.proto.ModelInferResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The built-in minilm model over gRPC in what {@link ProtocolSuiteTest} does not send: typed BYTES
 * contents, malformed raw contents and text that is not UTF-8, on both gRPC ports.
 */
class GrpcMiniLmTest {
    private static final int DIMENSIONS = 384;
    private static final List<String> TEXTS = List.of("Exam results are out.", "The ticket sale opens at nine.",
            "Ünïcödé text, too: 東京");

    private static TestNode node;

    @BeforeAll
    static void start() throws Exception {
        node = TestNode.start(NodeOptions.defaults().withGrpcPort(0),
                List.of(ModelRepository.loadMiniLm(ModelRepository.miniLmConfig())));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static int port(Port port) {
        return port == Port.SHARED_WITH_REST ? node.node.port() : node.node.grpcPort().orElseThrow();
    }

    @ParameterizedTest
    @EnumSource(Port.class)
    void typedBytesInputGetsTypedEmbeddingsEqualToRest(Port port) {
        InferTensorContents.Builder contents = InferTensorContents.newBuilder();
        TEXTS.forEach(text -> contents.addBytesContents(ByteString.copyFromUtf8(text)));
        ModelInferRequest request = ModelInferRequest.newBuilder()
                .setModelName("minilm")
                .addInputs(input("text", "BYTES", TEXTS.size()).setContents(contents))
                .build();
        ModelInferResponse response;
        try (GrpcClient client = new GrpcClient(port(port))) {
            response = client.infer(request);
        }
        assertThat(response.getRawOutputContentsCount()).isZero();
        assertThat(response.getOutputs(0).getContents().getFp32ContentsCount()).isEqualTo(TEXTS.size() * DIMENSIONS);
        assertEmbeddingsEqualRest(response);
    }

    @ParameterizedTest
    @EnumSource(Port.class)
    void truncatedRawBytesGetInvalidArgument(Port port) {
        ByteString truncated = rawStrings(TEXTS).substring(0, 30);
        ModelInferRequest request = ModelInferRequest.newBuilder()
                .setModelName("minilm")
                .addInputs(input("text", "BYTES", TEXTS.size()))
                .addRawInputContents(truncated)
                .build();
        try (GrpcClient client = new GrpcClient(port(port))) {
            StatusRuntimeException error = catchThrowableOfType(StatusRuntimeException.class,
                    () -> client.infer(request));
            assertThat(error).isNotNull();
            assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(error.getStatus().getDescription()).contains("input 'text' raw content gives element 1");
        }
    }

    @ParameterizedTest
    @EnumSource(Port.class)
    void invalidUtf8GetsInvalidArgument(Port port) {
        ModelInferRequest request = ModelInferRequest.newBuilder()
                .setModelName("minilm")
                .addInputs(input("text", "BYTES", 1).setContents(InferTensorContents.newBuilder()
                        .addBytesContents(ByteString.copyFrom(new byte[] {(byte) 0xC3, (byte) 0x28}))))
                .build();
        try (GrpcClient client = new GrpcClient(port(port))) {
            StatusRuntimeException error = catchThrowableOfType(StatusRuntimeException.class,
                    () -> client.infer(request));
            assertThat(error).isNotNull();
            assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(error.getStatus().getDescription()).contains("input 'text' element 0 is not valid UTF-8");
        }
    }

    private static void assertEmbeddingsEqualRest(ModelInferResponse response) {
        assertThat(response.getModelName()).isEqualTo("minilm");
        assertThat(response.getOutputs(0).getName()).isEqualTo("embedding");
        assertThat(response.getOutputs(0).getDatatype()).isEqualTo("FP32");
        assertThat(response.getOutputs(0).getShapeList()).containsExactly((long) TEXTS.size(), (long) DIMENSIONS);
        float[] grpc = GrpcRequests.floats(response, 0);
        float[] rest = restEmbeddings();
        assertThat(grpc).hasSize(rest.length);
        for (int i = 0; i < rest.length; i++) {
            assertThat(grpc[i]).as("element %d", i).isCloseTo(rest[i], within(1e-5f));
        }
    }

    private static float[] restEmbeddings() {
        ObjectNode body = TestNode.JSON.createObjectNode();
        ObjectNode text = body.putArray("inputs").addObject();
        text.put("name", "text");
        text.put("datatype", "BYTES");
        text.putArray("shape").add(TEXTS.size());
        TEXTS.forEach(text.putArray("data")::add);
        TestNode.Reply reply = node.post("/v2/models/minilm/infer", body.toString());
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        JsonNode data = reply.json().at("/outputs/0/data");
        float[] values = new float[data.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = data.get(i).floatValue();
        }
        return values;
    }
}
