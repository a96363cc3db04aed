package dev.levee.server.grpc;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Message;
import com.google.protobuf.MessageLite;
import dev.levee.core.Clock;
import dev.levee.core.InferenceException;
import dev.levee.core.ModelMetadata;
import dev.levee.core.TensorMetadata;
import dev.levee.server.ModelControl;
import dev.levee.server.ModelRegistry;
import dev.levee.server.ModelState;
import dev.levee.server.NodeMetrics;
import dev.levee.server.NodeState;
import dev.levee.server.grpc.proto.ModelConfigRequest;
import dev.levee.server.grpc.proto.ModelInferRequest;
import dev.levee.server.grpc.proto.ModelInferResponse;
import dev.levee.server.grpc.proto.ModelMetadataRequest;
import dev.levee.server.grpc.proto.ModelMetadataResponse;
import dev.levee.server.grpc.proto.ModelReadyRequest;
import dev.levee.server.grpc.proto.ModelReadyResponse;
import dev.levee.server.grpc.proto.ModelStatisticsRequest;
import dev.levee.server.grpc.proto.ServerLiveRequest;
import dev.levee.server.grpc.proto.ServerLiveResponse;
import dev.levee.server.grpc.proto.ServerMetadataRequest;
import dev.levee.server.grpc.proto.ServerMetadataResponse;
import dev.levee.server.grpc.proto.ServerReadyRequest;
import dev.levee.server.grpc.proto.RepositoryIndexRequest;
import dev.levee.server.grpc.proto.RepositoryModelLoadRequest;
import dev.levee.server.grpc.proto.RepositoryModelUnloadRequest;
import dev.levee.server.grpc.proto.ServerReadyResponse;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.server.GrpcProtocol;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerOptions;
import io.vertx.grpc.server.GrpcServerResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The KServe v2 {@code inference.GRPCInferenceService} on Vert.x's gRPC server: health, metadata,
 * ModelInfer, and Triton's model repository, model configuration and statistics extensions. Calls
 * run on Vert.x event loops like REST requests. Model work runs on the schedulers' instance
 * threads, and loading and unloading on the model control thread.
 */
public final class GrpcInferenceService {
    private static final Logger log = LoggerFactory.getLogger(GrpcInferenceService.class);
    static final ServiceName SERVICE = ServiceName.create("inference", "GRPCInferenceService");
    /** Largest message size Vert.x accepts as a limit: the 4-byte length of a gRPC message frame. */
    private static final long MAX_MESSAGE_LIMIT = 0xFFFF_FFFFL;

    private final ModelRegistry registry;
    private final ModelControl control;
    private final NodeMetrics metrics;
    private final NodeState state;
    private final Clock clock;

    public GrpcInferenceService(ModelRegistry registry, ModelControl control, NodeMetrics metrics, NodeState state,
            Clock clock) {
        this.registry = requireNonNull(registry, "registry");
        this.control = requireNonNull(control, "control");
        this.metrics = requireNonNull(metrics, "metrics");
        this.state = requireNonNull(state, "state");
        this.clock = requireNonNull(clock, "clock");
    }

    /**
     * Builds a gRPC server that serves this service over HTTP/2 and rejects request messages
     * larger than {@code maxMessageBytes} with RESOURCE_EXHAUSTED. It is a request handler for
     * Vert.x HTTP servers.
     */
    public GrpcServer server(Vertx vertx, long maxMessageBytes) {
        long messageLimit = Math.min(maxMessageBytes, MAX_MESSAGE_LIMIT);
        GrpcServerOptions options = new GrpcServerOptions().setMaxMessageSize(messageLimit);
        // Only gRPC over HTTP/2: gRPC-Web and HTTP transcoding are not offered, since no test covers them.
        for (GrpcProtocol protocol : GrpcProtocol.values()) {
            if (protocol != GrpcProtocol.HTTP_2) {
                options.removeEnabledProtocol(protocol);
            }
        }
        GrpcServer server = GrpcServer.server(vertx, options);
        unary(server, "ServerLive", ServerLiveRequest.getDefaultInstance(),
                request -> ServerLiveResponse.newBuilder().setLive(true).build());
        unary(server, "ServerReady", ServerReadyRequest.getDefaultInstance(),
                request -> ServerReadyResponse.newBuilder().setReady(state.ready(registry)).build());
        unary(server, "ModelReady", ModelReadyRequest.getDefaultInstance(), request -> ModelReadyResponse.newBuilder()
                .setReady(registry.state(request.getName(), request.getVersion()) == ModelState.READY)
                .build());
        unary(server, "ServerMetadata", ServerMetadataRequest.getDefaultInstance(),
                request -> ServerMetadataResponse.newBuilder()
                        .setName("levee")
                        .setVersion(NodeState.VERSION)
                        .addAllExtensions(NodeState.EXTENSIONS)
                        .build());
        unary(server, "ModelMetadata", ModelMetadataRequest.getDefaultInstance(),
                request -> modelMetadata(registry.metadata(request.getName(), request.getVersion())));
        ExtensionCalls extensions = new ExtensionCalls(registry);
        unary(server, "ModelConfig", ModelConfigRequest.getDefaultInstance(), extensions::config);
        unary(server, "ModelStatistics", ModelStatisticsRequest.getDefaultInstance(), extensions::statistics);
        RepositoryCalls repository = new RepositoryCalls(control);
        unary(server, "RepositoryIndex", RepositoryIndexRequest.getDefaultInstance(), repository::index);
        unaryAsync(server, "RepositoryModelLoad", RepositoryModelLoadRequest.getDefaultInstance(), repository::load);
        unaryAsync(server, "RepositoryModelUnload", RepositoryModelUnloadRequest.getDefaultInstance(),
                repository::unload);
        ServiceMethod<ModelInferRequest, ModelInferResponse> infer = method("ModelInfer",
                ModelInferRequest.getDefaultInstance());
        server.callHandler(infer,
                request -> new InferCall(request, registry, metrics, state, clock, messageLimit).start());
        return server;
    }

    private <Q extends Message, R extends MessageLite> void unary(GrpcServer server, String name, Q prototype,
            Function<Q, R> body) {
        unaryAsync(server, name, prototype, request -> CompletableFuture.completedFuture(body.apply(request)));
    }

    /**
     * Serves a unary method whose response may come later, from another thread; the response is
     * sent on the call's Vert.x context.
     */
    private <Q extends Message, R extends MessageLite> void unaryAsync(GrpcServer server, String name, Q prototype,
            Function<Q, CompletableFuture<R>> body) {
        server.callHandler(GrpcInferenceService.<Q, R>method(name, prototype), call -> {
            Context context = Vertx.currentContext();
            UnaryCalls.readMessage(call, name + "Request")
                    .onSuccess(request -> {
                        CompletableFuture<R> response;
                        try {
                            response = body.apply(request);
                        } catch (RuntimeException e) {
                            fail(call.response(), name, e);
                            return;
                        }
                        if (response.isDone()) {
                            respond(call.response(), name, response);
                        } else {
                            response.whenComplete((r, e) -> context.runOnContext(v ->
                                    respond(call.response(), name, response)));
                        }
                    })
                    .onFailure(cause -> {
                        if (cause instanceof InferenceException e) {
                            log.debug("{} ended with {}: {}", name, e.kind(), e.getMessage());
                            UnaryCalls.fail(call.response(), e);
                        }
                    });
        });
    }

    private static <R extends MessageLite> void respond(GrpcServerResponse<?, R> call, String name,
            CompletableFuture<R> response) {
        R message;
        try {
            message = response.join();
        } catch (CompletionException e) {
            fail(call, name, e.getCause());
            return;
        }
        try {
            call.end(message);
        } catch (IllegalStateException e) {
            // The client cancelled the call or closed the connection while the work ran.
            log.debug("{} finished after its call ended", name);
        }
    }

    private static void fail(GrpcServerResponse<?, ?> call, String name, Throwable error) {
        InferenceException failure;
        if (error instanceof InferenceException e) {
            log.debug("{} ended with {}: {}", name, e.kind(), e.getMessage());
            failure = e;
        } else {
            log.warn("[{}] gRPC call failed inside the node", name, error);
            failure = InferenceException.internal("internal error", error);
        }
        try {
            UnaryCalls.fail(call, failure);
        } catch (IllegalStateException e) {
            log.debug("{} failed after its call ended", name);
        }
    }

    private static <Q extends Message, R extends MessageLite> ServiceMethod<Q, R> method(String name, Q prototype) {
        return ServiceMethod.server(SERVICE, name, GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(prototype));
    }

    private static ModelMetadataResponse modelMetadata(ModelMetadata metadata) {
        ModelMetadataResponse.Builder response = ModelMetadataResponse.newBuilder()
                .setName(metadata.name())
                .addAllVersions(metadata.versions())
                .setPlatform(metadata.platform());
        metadata.inputs().forEach(tensor -> response.addInputs(tensorMetadata(tensor)));
        metadata.outputs().forEach(tensor -> response.addOutputs(tensorMetadata(tensor)));
        return response.build();
    }

    private static ModelMetadataResponse.TensorMetadata tensorMetadata(TensorMetadata tensor) {
        ModelMetadataResponse.TensorMetadata.Builder builder = ModelMetadataResponse.TensorMetadata.newBuilder()
                .setName(tensor.name())
                .setDatatype(tensor.datatype().name());
        for (long dim : tensor.shape()) {
            builder.addShape(dim);
        }
        return builder.build();
    }
}
