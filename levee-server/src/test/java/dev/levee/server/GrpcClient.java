package dev.levee.server;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.Message;
import dev.levee.server.grpc.proto.ModelConfigRequest;
import dev.levee.server.grpc.proto.ModelConfigResponse;
import dev.levee.server.grpc.proto.ModelInferRequest;
import dev.levee.server.grpc.proto.ModelInferResponse;
import dev.levee.server.grpc.proto.ModelMetadataRequest;
import dev.levee.server.grpc.proto.ModelMetadataResponse;
import dev.levee.server.grpc.proto.ModelReadyRequest;
import dev.levee.server.grpc.proto.ModelReadyResponse;
import dev.levee.server.grpc.proto.ModelStatisticsRequest;
import dev.levee.server.grpc.proto.ModelStatisticsResponse;
import dev.levee.server.grpc.proto.RepositoryIndexRequest;
import dev.levee.server.grpc.proto.RepositoryIndexResponse;
import dev.levee.server.grpc.proto.RepositoryModelLoadRequest;
import dev.levee.server.grpc.proto.RepositoryModelLoadResponse;
import dev.levee.server.grpc.proto.RepositoryModelUnloadRequest;
import dev.levee.server.grpc.proto.RepositoryModelUnloadResponse;
import dev.levee.server.grpc.proto.ServerLiveRequest;
import dev.levee.server.grpc.proto.ServerLiveResponse;
import dev.levee.server.grpc.proto.ServerMetadataRequest;
import dev.levee.server.grpc.proto.ServerMetadataResponse;
import dev.levee.server.grpc.proto.ServerReadyRequest;
import dev.levee.server.grpc.proto.ServerReadyResponse;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A stock grpc-java client for {@code inference.GRPCInferenceService}, built from the generated
 * messages and grpc-java's generic {@link ClientCalls}. Apart from those messages, which come
 * from the same .proto file that a Python or Go client compiles, no Levee code runs on the client.
 * Every call has a deadline, 30 s unless the test gives a shorter one.
 */
final class GrpcClient implements AutoCloseable {
    private static final long DEFAULT_DEADLINE_MILLIS = 30_000;
    private static final int MAX_INBOUND_MESSAGE_BYTES = 64 * 1024 * 1024;

    static final MethodDescriptor<ServerLiveRequest, ServerLiveResponse> SERVER_LIVE =
            method("ServerLive", ServerLiveRequest.getDefaultInstance(), ServerLiveResponse.getDefaultInstance());
    static final MethodDescriptor<ServerReadyRequest, ServerReadyResponse> SERVER_READY =
            method("ServerReady", ServerReadyRequest.getDefaultInstance(), ServerReadyResponse.getDefaultInstance());
    static final MethodDescriptor<ModelReadyRequest, ModelReadyResponse> MODEL_READY =
            method("ModelReady", ModelReadyRequest.getDefaultInstance(), ModelReadyResponse.getDefaultInstance());
    static final MethodDescriptor<ServerMetadataRequest, ServerMetadataResponse> SERVER_METADATA = method(
            "ServerMetadata", ServerMetadataRequest.getDefaultInstance(), ServerMetadataResponse.getDefaultInstance());
    static final MethodDescriptor<ModelMetadataRequest, ModelMetadataResponse> MODEL_METADATA = method(
            "ModelMetadata", ModelMetadataRequest.getDefaultInstance(), ModelMetadataResponse.getDefaultInstance());
    static final MethodDescriptor<ModelInferRequest, ModelInferResponse> MODEL_INFER =
            method("ModelInfer", ModelInferRequest.getDefaultInstance(), ModelInferResponse.getDefaultInstance());
    static final MethodDescriptor<ModelConfigRequest, ModelConfigResponse> MODEL_CONFIG =
            method("ModelConfig", ModelConfigRequest.getDefaultInstance(), ModelConfigResponse.getDefaultInstance());
    static final MethodDescriptor<ModelStatisticsRequest, ModelStatisticsResponse> MODEL_STATISTICS = method(
            "ModelStatistics", ModelStatisticsRequest.getDefaultInstance(),
            ModelStatisticsResponse.getDefaultInstance());
    static final MethodDescriptor<RepositoryIndexRequest, RepositoryIndexResponse> REPOSITORY_INDEX = method(
            "RepositoryIndex", RepositoryIndexRequest.getDefaultInstance(),
            RepositoryIndexResponse.getDefaultInstance());
    static final MethodDescriptor<RepositoryModelLoadRequest, RepositoryModelLoadResponse> REPOSITORY_MODEL_LOAD =
            method("RepositoryModelLoad", RepositoryModelLoadRequest.getDefaultInstance(),
                    RepositoryModelLoadResponse.getDefaultInstance());
    static final MethodDescriptor<RepositoryModelUnloadRequest, RepositoryModelUnloadResponse>
            REPOSITORY_MODEL_UNLOAD = method("RepositoryModelUnload", RepositoryModelUnloadRequest.getDefaultInstance(),
                    RepositoryModelUnloadResponse.getDefaultInstance());

    private final ManagedChannel channel;

    GrpcClient(int port) {
        channel = NettyChannelBuilder.forAddress("127.0.0.1", port)
                .usePlaintext()
                .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
                .build();
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

    <Q, R> R call(MethodDescriptor<Q, R> method, Q request) {
        return call(method, request, DEFAULT_DEADLINE_MILLIS);
    }

    <Q, R> R call(MethodDescriptor<Q, R> method, Q request, long deadlineMillis) {
        return ClientCalls.blockingUnaryCall(channel, method, options(deadlineMillis), request);
    }

    ModelInferResponse infer(ModelInferRequest request) {
        return call(MODEL_INFER, request);
    }

    /** Makes a ModelInfer call and stores the response headers and trailers that the client receives. */
    ModelInferResponse infer(ModelInferRequest request, AtomicReference<Metadata> headers,
            AtomicReference<Metadata> trailers) {
        Channel capturing = ClientInterceptors.intercept(channel,
                MetadataUtils.newCaptureMetadataInterceptor(headers, trailers));
        return ClientCalls.blockingUnaryCall(capturing, MODEL_INFER, options(DEFAULT_DEADLINE_MILLIS), request);
    }

    /** Starts a call without waiting; cancelling the future cancels the call. */
    ListenableFuture<ModelInferResponse> inferAsync(ModelInferRequest request) {
        return ClientCalls.futureUnaryCall(channel.newCall(MODEL_INFER, options(DEFAULT_DEADLINE_MILLIS)), request);
    }

    private static CallOptions options(long deadlineMillis) {
        return CallOptions.DEFAULT.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
