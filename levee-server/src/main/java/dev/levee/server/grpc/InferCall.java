package dev.levee.server.grpc;

import dev.levee.core.Clock;
import dev.levee.core.ErrorKind;
import dev.levee.core.GrpcTimeout;
import dev.levee.core.InferenceException;
import dev.levee.core.InferenceRequest;
import dev.levee.core.InferenceResponse;
import dev.levee.core.NodeLoad;
import dev.levee.core.RequestControls;
import dev.levee.server.ModelRegistry;
import dev.levee.server.NodeMetrics;
import dev.levee.server.NodeState;
import dev.levee.server.grpc.proto.ModelInferRequest;
import dev.levee.server.grpc.proto.ModelInferResponse;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.StreamResetException;
import io.vertx.grpc.common.MessageSizeOverflowException;
import io.vertx.grpc.server.GrpcServerRequest;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ModelInfer call, from arrival to response: reads and decodes the request, submits it to its
 * model's scheduler, and responds once the scheduler's future completes or the call's deadline
 * passes. A call that the client cancels is dropped from the queue. The response metadata carries
 * the node's load report.
 *
 * <p>All methods run on the call's Vert.x context, one at a time, so the fields need no lock. The
 * scheduler completes the future on a model instance thread, so {@link #complete()} is scheduled
 * back onto the context rather than run there.
 */
final class InferCall {
    private static final Logger log = LoggerFactory.getLogger(InferCall.class);
    private static final String MESSAGE_TYPE = "ModelInferRequest";
    /** gRPC metadata keys are lower case. */
    private static final String LOAD_KEY = NodeLoad.HEADER.toLowerCase(Locale.ROOT);

    private final GrpcServerRequest<ModelInferRequest, ModelInferResponse> call;
    private final ModelRegistry registry;
    private final NodeMetrics metrics;
    private final NodeState state;
    private final Clock clock;
    private final long maxMessageBytes;
    private final long arrivalNanos;
    private final Context context;

    /** The model named in the request; empty until the request message is read. */
    private String model = "";
    /** The client's request id, for logs; empty until the request message is read or when it has none. */
    private String requestId = "";
    private boolean rawInputs;
    /** Set once a response was sent or the client went away; nothing is sent after that. */
    private boolean finished;
    private CompletableFuture<InferenceResponse> future;
    /** Vert.x timer that ends the call with DEADLINE_EXCEEDED, or -1 when the call has no deadline. */
    private long deadlineTimer = -1;

    InferCall(GrpcServerRequest<ModelInferRequest, ModelInferResponse> call, ModelRegistry registry,
            NodeMetrics metrics, NodeState state, Clock clock, long maxMessageBytes) {
        this.call = call;
        this.registry = registry;
        this.metrics = metrics;
        this.state = state;
        this.clock = clock;
        this.maxMessageBytes = maxMessageBytes;
        this.arrivalNanos = clock.nanoTime();
        this.context = Vertx.currentContext();
    }

    void start() {
        call.errorHandler(error -> clientGone());
        call.exceptionHandler(this::readFailed);
        call.response().exceptionHandler(error -> clientGone());
        call.invalidMessageHandler(invalid -> fail(invalid instanceof MessageSizeOverflowException overflow
                ? InferenceException.of(ErrorKind.PAYLOAD_TOO_LARGE, "request message of " + overflow.messageSize()
                        + " bytes exceeds the limit of " + maxMessageBytes + " bytes")
                : InferenceException.invalid("request message is not a valid " + MESSAGE_TYPE)));
        long deadlineNanos;
        try {
            deadlineNanos = startDeadline(GrpcTimeout.parseNanos(call.headers().get(GrpcTimeout.HEADER)));
        } catch (InferenceException e) {
            fail(e);
            return;
        }
        UnaryCalls.readMessage(call, MESSAGE_TYPE)
                .onSuccess(message -> submit(message, deadlineNanos))
                .onFailure(cause -> {
                    if (cause instanceof InferenceException e) {
                        fail(e);
                    } else {
                        clientGone();
                    }
                });
    }

    /**
     * Returns the request's deadline on {@link #clock}, and starts a timer that ends the call with
     * DEADLINE_EXCEEDED when it passes. The timer runs on Vert.x's own time, since it must fire
     * even when the clock is a test's manual one.
     */
    private long startDeadline(OptionalLong timeoutNanos) {
        if (timeoutNanos.isEmpty()) {
            return InferenceRequest.NO_DEADLINE;
        }
        // Longer timeouts count as one day, as REST's do, so the arithmetic below cannot overflow.
        long timeout = Math.min(timeoutNanos.getAsLong(), TimeUnit.DAYS.toNanos(1));
        long delayMillis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeout + 999_999));
        deadlineTimer = context.owner().setTimer(delayMillis, id -> {
            deadlineTimer = -1;
            deadlinePassed(timeout);
        });
        return arrivalNanos + timeout;
    }

    /**
     * Ends the call with DEADLINE_EXCEEDED. The gRPC over HTTP/2 document suggests a stream reset
     * instead, but a status also tells a client that does not track the deadline why the call ended.
     */
    private void deadlinePassed(long timeoutNanos) {
        InferenceException expired = InferenceException.of(ErrorKind.DEADLINE_EXCEEDED,
                "request did not finish within its deadline of " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
        if (future == null) {
            fail(expired);
        } else {
            // The scheduler drops a queued request whose future is done, so it never runs.
            future.completeExceptionally(expired);
        }
    }

    private void submit(ModelInferRequest message, long deadlineNanos) {
        if (finished) {
            return;
        }
        model = message.getModelName();
        requestId = message.getId();
        rawInputs = InferRequestDecoder.usesRawContents(message);
        try {
            if (model.isEmpty()) {
                throw InferenceException.invalid("request has no model_name");
            }
            // Looked up before decoding, so an unknown model gets NOT_FOUND whatever the message holds.
            registry.find(model, message.getModelVersion());
            InferenceRequest request = RequestControls.applyParameters(
                    InferRequestDecoder.decode(message, deadlineNanos), arrivalNanos);
            if (!state.accepting()) {
                throw InferenceException.retryLater(ErrorKind.UNAVAILABLE, "node is shutting down", 1);
            }
            future = registry.submit(model, message.getModelVersion(), request);
        } catch (InferenceException e) {
            fail(e);
            return;
        } catch (RuntimeException e) {
            log.warn("[{}] ModelInfer of model '{}' failed inside the node", requestId, model, e);
            fail(InferenceException.internal("internal error", e));
            return;
        }
        if (future.isDone()) {
            complete();
        } else {
            future.whenComplete((response, error) -> context.runOnContext(v -> complete()));
        }
    }

    private void complete() {
        if (finished) {
            return;
        }
        InferenceResponse response;
        try {
            response = future.join();
        } catch (CancellationException e) {
            return;
        } catch (CompletionException e) {
            fail(e.getCause() instanceof InferenceException error
                    ? error
                    : InferenceException.internal("internal error", e.getCause()));
            return;
        }
        ModelInferResponse encoded;
        try {
            encoded = InferResponseEncoder.encode(response, rawInputs);
        } catch (InferenceException e) {
            fail(e);
            return;
        } catch (RuntimeException e) {
            log.warn("[{}] response of model '{}' could not be encoded", requestId, model, e);
            fail(InferenceException.internal("internal error", e));
            return;
        }
        finish("success");
        reportLoad();
        call.response().end(encoded);
    }

    private void fail(InferenceException error) {
        if (finished) {
            return;
        }
        finish(error.kind().name().toLowerCase(Locale.ROOT));
        log.debug("[{}] ModelInfer of model '{}' ended with {}: {}", requestId, model, error.kind(),
                error.getMessage());
        reportLoad();
        UnaryCalls.fail(call.response(), error);
    }

    /**
     * Adds the node's load report to the response metadata. Only the response's final write sends
     * the metadata, so this runs just before it and the report counts the work left after this call.
     */
    private void reportLoad() {
        call.response().headers().set(LOAD_KEY, state.load(registry).headerValue());
    }

    /**
     * Handles a failure while the request is read: a reset stream or closed connection means the
     * client went away; anything else is taken as a malformed request and gets INVALID_ARGUMENT
     * rather than no answer.
     *
     * <p>NOTE: a message whose frame is flagged compressed while the call names no
     * {@code grpc-encoding} fails inside Vert.x 5.0.7's deframer, which throws to the event loop
     * instead of to this handler, so that call gets no answer until the client's deadline.
     */
    private void readFailed(Throwable error) {
        if (error instanceof StreamResetException || error instanceof HttpClosedException) {
            clientGone();
            return;
        }
        log.debug("[{}] ModelInfer request could not be read", requestId, error);
        fail(InferenceException.invalid("request message could not be read (" + error.getClass().getSimpleName()
                + ")"));
    }

    /** Drops the request from its queue because the client cancelled the call or its connection closed. */
    private void clientGone() {
        if (finished) {
            return;
        }
        finish("cancelled");
        log.debug("[{}] client cancelled ModelInfer of model '{}'", requestId, model);
        if (future != null) {
            future.cancel(false);
        }
    }

    /** Marks the call finished, stops its deadline timer and counts it under {@code outcome}. */
    private void finish(String outcome) {
        finished = true;
        if (deadlineTimer >= 0) {
            context.owner().cancelTimer(deadlineTimer);
            deadlineTimer = -1;
        }
        // A request whose message could not be read names no model, so it is not counted.
        if (!model.isEmpty()) {
            metrics.request(model, outcome, clock.nanoTime() - arrivalNanos);
        }
    }
}
