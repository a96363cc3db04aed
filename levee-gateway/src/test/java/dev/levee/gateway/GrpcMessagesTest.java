package dev.levee.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.google.protobuf.ByteString;
import com.google.protobuf.MessageLite;
import dev.levee.server.grpc.proto.InferParameter;
import dev.levee.server.grpc.proto.InferTensorContents;
import dev.levee.server.grpc.proto.ModelInferRequest;
import dev.levee.server.grpc.proto.ModelReadyRequest;
import dev.levee.server.grpc.proto.ServerLiveResponse;
import dev.levee.server.grpc.proto.ServerReadyResponse;
import io.vertx.core.buffer.Buffer;
import java.math.BigInteger;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The gateway's reading of gRPC request messages, checked against protobuf-java's own encoding. */
class GrpcMessagesTest {

    private static Buffer frame(MessageLite message) {
        byte[] bytes = message.toByteArray();
        return Buffer.buffer().appendByte((byte) 0).appendInt(bytes.length).appendBytes(bytes);
    }

    private static ModelInferRequest.Builder infer() {
        return ModelInferRequest.newBuilder()
                .setId("request-1")
                .putParameters("tag", InferParameter.newBuilder().setInt64Param(7).build())
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder()
                        .setName("INPUT0").setDatatype("FP32").addShape(1).addShape(2)
                        .setContents(InferTensorContents.newBuilder().addFp32Contents(1).addFp32Contents(2)))
                .addRawInputContents(ByteString.copyFrom(new byte[300]));
    }

    private static Optional<ModelKey> modelOf(Buffer body) {
        return GrpcMessages.read(body, false).model();
    }

    private static Optional<Object> timeoutOf(Buffer body) {
        return GrpcMessages.read(body, true).timeout();
    }

    @Test
    void onePassReadsModelAndTimeout() {
        Buffer body = frame(infer().setModelName("synthetic").setModelVersion("2")
                .putParameters("timeout", InferParameter.newBuilder().setInt64Param(9).build()).build());
        GrpcMessages.RequestFields fields = GrpcMessages.read(body, true);
        assertThat(fields.model()).contains(new ModelKey("synthetic", "2"));
        assertThat(fields.timeout()).contains(9L);
        assertThat(GrpcMessages.read(body, false).timeout()).as("parameters not read").isEmpty();
    }

    @Test
    void modelAndVersionComeFromTheMessage() {
        Buffer body = frame(infer().setModelName("synthetic").setModelVersion("3").build());
        assertThat(modelOf(body)).contains(new ModelKey("synthetic", "3"));
        assertThat(modelOf(frame(infer().setModelName("m").build()))).contains(new ModelKey("m", ""));
        Buffer ready = frame(ModelReadyRequest.newBuilder().setName("other").build());
        assertThat(modelOf(ready)).contains(new ModelKey("other", ""));
    }

    @Test
    void fieldsAfterTheTensorsAreFound() {
        // protobuf-java writes fields in number order, so put the name after the tensors by hand.
        byte[] tensors = infer().build().toByteArray();
        byte[] name = ModelInferRequest.newBuilder().setModelName("late").build().toByteArray();
        byte[] message = Arrays.copyOf(tensors, tensors.length + name.length);
        System.arraycopy(name, 0, message, tensors.length, name.length);
        Buffer body = Buffer.buffer().appendByte((byte) 0).appendInt(message.length).appendBytes(message);
        assertThat(modelOf(body)).contains(new ModelKey("late", ""));
    }

    @Test
    void unreadableMessagesNameNoModel() {
        Buffer valid = frame(infer().setModelName("synthetic").build());
        assertThat(modelOf(frame(infer().build()))).as("no model name").isEmpty();
        Buffer compressed = valid.copy();
        compressed.setByte(0, (byte) 1);
        assertThat(modelOf(compressed)).as("compressed").isEmpty();
        assertThat(modelOf(valid.getBuffer(0, valid.length() - 10))).as("cut short").isEmpty();
        assertThat(modelOf(Buffer.buffer(new byte[] {0, 0, 0, 0, 3, (byte) 0xff, (byte) 0xff, 7})))
                .as("garbage").isEmpty();
        assertThat(modelOf(Buffer.buffer())).isEmpty();
    }

    private static Buffer withTimeout(InferParameter timeout) {
        return frame(infer().setModelName("synthetic").putParameters("timeout", timeout).build());
    }

    @Test
    void timeoutParameterIsReadInEachType() {
        assertThat(timeoutOf(withTimeout(InferParameter.newBuilder().setInt64Param(250_000).build())))
                .contains(250_000L);
        assertThat(timeoutOf(withTimeout(InferParameter.newBuilder().setInt64Param(-5).build())))
                .contains(-5L);
        assertThat(timeoutOf(withTimeout(InferParameter.newBuilder().setUint64Param(7).build())))
                .contains(7L);
        assertThat(timeoutOf(withTimeout(InferParameter.newBuilder().setUint64Param(-1).build())))
                .as("the largest uint64").contains(new BigInteger("18446744073709551615"));
        assertThat(timeoutOf(withTimeout(InferParameter.newBuilder().setStringParam("soon").build())))
                .contains("soon");
        assertThat(timeoutOf(withTimeout(InferParameter.newBuilder().setDoubleParam(1.5).build())))
                .contains(1.5);
        assertThat(timeoutOf(withTimeout(InferParameter.newBuilder().setBoolParam(true).build())))
                .contains(true);
    }

    @Test
    void otherParametersAndMissingTimeoutsGiveNone() {
        assertThat(timeoutOf(frame(infer().setModelName("synthetic").build()))).isEmpty();
        assertThat(timeoutOf(withTimeout(InferParameter.getDefaultInstance())))
                .as("a parameter with no value set").isEmpty();
        Buffer compressed = withTimeout(InferParameter.newBuilder().setInt64Param(9).build()).copy();
        compressed.setByte(0, (byte) 1);
        assertThat(timeoutOf(compressed)).isEmpty();
        Buffer whole = withTimeout(InferParameter.newBuilder().setInt64Param(9).build());
        assertThat(timeoutOf(whole.getBuffer(0, whole.length() - 3))).as("cut short").isEmpty();
    }

    @Test
    void lastTimeoutEntryCountsAsInProtobuf() throws Exception {
        // protobuf-java writes a map key once, so append a second entry by hand and let it parse too.
        byte[] first = ModelInferRequest.newBuilder().setModelName("synthetic")
                .putParameters("timeout", InferParameter.newBuilder().setInt64Param(100).build()).build().toByteArray();
        byte[] second = ModelInferRequest.newBuilder()
                .putParameters("timeout", InferParameter.newBuilder().setInt64Param(200).build()).build().toByteArray();
        byte[] message = Arrays.copyOf(first, first.length + second.length);
        System.arraycopy(second, 0, message, first.length, second.length);
        long parsed = ModelInferRequest.parseFrom(message).getParametersOrThrow("timeout").getInt64Param();
        Buffer body = Buffer.buffer().appendByte((byte) 0).appendInt(message.length).appendBytes(message);
        assertThat(timeoutOf(body)).contains(parsed).contains(200L);
    }

    /** Returns a message frame of {@code parts} laid end to end. */
    private static Buffer rawFrame(byte[]... parts) {
        Buffer message = Buffer.buffer();
        for (byte[] part : parts) {
            message.appendBytes(part);
        }
        return Buffer.buffer().appendByte((byte) 0).appendInt(message.length()).appendBuffer(message);
    }

    /** Returns the 10-byte varint of {@code value}, as protobuf encodes a negative int64. */
    private static byte[] varint(long value) {
        Buffer out = Buffer.buffer();
        while ((value & ~0x7fL) != 0) {
            out.appendByte((byte) ((value & 0x7f) | 0x80));
            value >>>= 7;
        }
        return out.appendByte((byte) value).getBytes();
    }

    @Test
    void negativeLengthsAreMalformed() {
        byte[] model = ModelInferRequest.newBuilder().setModelName("synthetic").build().toByteArray();
        // -11 steps back over the tag and the 10-byte length itself, to where the field started.
        Buffer parameters = rawFrame(model, new byte[] {0x22}, varint(-11));
        Buffer modelName = rawFrame(new byte[] {0x0a}, varint(-3));
        Buffer entryKey = rawFrame(model, new byte[] {0x22, 11, 0x0a}, varint(-1));
        Buffer skipped = rawFrame(model, new byte[] {0x2a}, varint(-11));
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            assertThat(timeoutOf(parameters)).as("parameters entry").isEmpty();
            assertThat(modelOf(modelName)).as("model name").isEmpty();
            assertThat(timeoutOf(entryKey)).as("map key").isEmpty();
            assertThat(timeoutOf(skipped)).as("skipped field").isEmpty();
            assertThat(modelOf(skipped)).as("skipped field, model").isEmpty();
        });
    }

    @Test
    void compressedFlagIsFoundInEveryWholeFrame() {
        Buffer plain = frame(infer().setModelName("synthetic").build());
        Buffer compressed = plain.copy().setByte(0, (byte) 1);
        assertThat(GrpcMessages.anyCompressed(plain)).as("plain").isFalse();
        assertThat(GrpcMessages.anyCompressed(compressed)).as("compressed").isTrue();
        assertThat(GrpcMessages.anyCompressed(plain.copy().appendBuffer(compressed))).as("second frame").isTrue();
        assertThat(GrpcMessages.anyCompressed(compressed.getBuffer(0, compressed.length() - 1)))
                .as("cut short, so no node reads it as a message").isFalse();
        assertThat(GrpcMessages.anyCompressed(Buffer.buffer())).as("empty").isFalse();
    }

    @Test
    void booleanMessagesParseAsHealthResponses() throws Exception {
        Buffer live = GrpcMessages.booleanMessage(true);
        assertThat(live.getByte(0)).isZero();
        assertThat(live.getInt(1)).isEqualTo(live.length() - 5);
        assertThat(ServerLiveResponse.parseFrom(live.getBytes(5, live.length())).getLive()).isTrue();
        Buffer notReady = GrpcMessages.booleanMessage(false);
        assertThat(ServerReadyResponse.parseFrom(notReady.getBytes(5, notReady.length())).getReady()).isFalse();
        assertThat(notReady.getInt(1)).isZero();
    }

    @Test
    void statusesMapBothWays() {
        assertThat(GrpcForwarding.httpStatus(14)).isEqualTo(503);
        assertThat(GrpcForwarding.httpStatus(13)).isEqualTo(500);
        assertThat(GrpcForwarding.httpStatus(5)).isEqualTo(404);
        assertThat(GrpcForwarding.httpStatus(4)).isEqualTo(504);
        assertThat(GrpcForwarding.httpStatus(3)).isEqualTo(400);
        assertThat(GrpcForwarding.httpStatus(0)).isEqualTo(200);
        for (int status : new int[] {400, 404, 413, 500, 503, 504}) {
            assertThat(GrpcForwarding.httpStatus(GrpcForwarding.grpcCode(status))).as("status " + status)
                    .isEqualTo(status);
        }
        assertThat(GrpcForwarding.percentEncode("50% done: ünïcode")).isEqualTo("50%25 done: %C3%BCn%C3%AFcode");
    }
}
