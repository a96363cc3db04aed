package dev.levee.gateway;

import com.google.protobuf.Message;
import dev.levee.server.grpc.proto.InferTensorContents;
import dev.levee.server.grpc.proto.ModelConfigRequest;
import dev.levee.server.grpc.proto.ModelConfigResponse;
import dev.levee.server.grpc.proto.ModelInferRequest;
import dev.levee.server.grpc.proto.ModelInferResponse;
import dev.levee.server.grpc.proto.ModelMetadataRequest;
import dev.levee.server.grpc.proto.ModelMetadataResponse;
import dev.levee.server.grpc.proto.RepositoryIndexRequest;
import dev.levee.server.grpc.proto.RepositoryIndexResponse;
import dev.levee.server.grpc.proto.RepositoryModelLoadRequest;
import dev.levee.server.grpc.proto.RepositoryModelLoadResponse;
import dev.levee.server.grpc.proto.ModelStatisticsRequest;
import dev.levee.server.grpc.proto.ModelStatisticsResponse;
import dev.levee.server.grpc.proto.ServerLiveRequest;
import dev.levee.server.grpc.proto.ServerLiveResponse;
import dev.levee.server.grpc.proto.ServerReadyRequest;
import dev.levee.server.grpc.proto.ServerReadyResponse;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.TimeUnit;

/** A stock grpc-java client for {@code inference.GRPCInferenceService}; every call has a deadline. */
final class GrpcTestClient implements AutoCloseable {
    static final MethodDescriptor<ServerLiveRequest, ServerLiveResponse> SERVER_LIVE =
            method("ServerLive", ServerLiveRequest.getDefaultInstance(), ServerLiveResponse.getDefaultInstance());
    static final MethodDescriptor<ServerReadyRequest, ServerReadyResponse> SERVER_READY =
            method("ServerReady", ServerReadyRequest.getDefaultInstance(), ServerReadyResponse.getDefaultInstance());
    static final MethodDescriptor<ModelMetadataRequest, ModelMetadataResponse> MODEL_METADATA = method(
            "ModelMetadata", ModelMetadataRequest.getDefaultInstance(), ModelMetadataResponse.getDefaultInstance());
    static final MethodDescriptor<RepositoryIndexRequest, RepositoryIndexResponse> REPOSITORY_INDEX = method(
            "RepositoryIndex", RepositoryIndexRequest.getDefaultInstance(), RepositoryIndexResponse.getDefaultInstance());
    static final MethodDescriptor<RepositoryModelLoadRequest, RepositoryModelLoadResponse> REPOSITORY_LOAD = method(
            "RepositoryModelLoad", RepositoryModelLoadRequest.getDefaultInstance(),
            RepositoryModelLoadResponse.getDefaultInstance());
    static final MethodDescriptor<ModelConfigRequest, ModelConfigResponse> MODEL_CONFIG =
            method("ModelConfig", ModelConfigRequest.getDefaultInstance(), ModelConfigResponse.getDefaultInstance());
    static final MethodDescriptor<ModelStatisticsRequest, ModelStatisticsResponse> MODEL_STATISTICS = method(
            "ModelStatistics", ModelStatisticsRequest.getDefaultInstance(),
            ModelStatisticsResponse.getDefaultInstance());
    static final MethodDescriptor<ModelInferRequest, ModelInferResponse> MODEL_INFER =
            method("ModelInfer", ModelInferRequest.getDefaultInstance(), ModelInferResponse.getDefaultInstance());

    /** ModelInfer with the request message as raw bytes, so that a test can send a malformed one. */
    static final MethodDescriptor<byte[], byte[]> MODEL_INFER_BYTES = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(MethodDescriptor.generateFullMethodName("inference.GRPCInferenceService", "ModelInfer"))
            .setRequestMarshaller(new BytesMarshaller())
            .setResponseMarshaller(new BytesMarshaller())
            .build();

    private final ManagedChannel channel;

    GrpcTestClient(int port) {
        channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    }

    private static <Q extends Message, R extends Message> MethodDescriptor<Q, R> method(String name, Q request,
            R response) {
        return MethodDescriptor.<Q, R>newBuilder()
                .setType(MethodDescriptor.MethodType.UNARY)
                .setFullMethodName(MethodDescriptor.generateFullMethodName("inference.GRPCInferenceService", name))
                .setRequestMarshaller(ProtoUtils.marshaller(request))
                .setResponseMarshaller(ProtoUtils.marshaller(response))
                .build();
    }

    <Q, R> R call(MethodDescriptor<Q, R> method, Q request, long deadlineMillis) {
        return ClientCalls.blockingUnaryCall(channel, method,
                CallOptions.DEFAULT.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS), request);
    }

    ModelInferResponse infer(float value, long deadlineMillis) {
        return call(MODEL_INFER, synthetic("synthetic", value), deadlineMillis);
    }

    /** Returns a request of one row of two copies of {@code value}, the synthetic model's FP32 input. */
    static ModelInferRequest synthetic(String model, float value) {
        return ModelInferRequest.newBuilder()
                .setModelName(model)
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder()
                        .setName("INPUT0").setDatatype("FP32").addShape(1).addShape(2)
                        .setContents(InferTensorContents.newBuilder().addFp32Contents(value).addFp32Contents(value)))
                .build();
    }

    static float firstOutput(ModelInferResponse response) {
        return response.getOutputs(0).getContents().getFp32Contents(0);
    }

    private static final class BytesMarshaller implements MethodDescriptor.Marshaller<byte[]> {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow();
        channel.awaitTermination(10, TimeUnit.SECONDS);
    }
}
