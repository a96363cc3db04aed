package dev.levee.server;

import com.google.protobuf.ByteString;
import dev.levee.core.DataType;
import dev.levee.core.ErrorKind;
import dev.levee.core.InferenceRequest;
import dev.levee.core.InferenceResponse;
import dev.levee.core.Tensor;
import dev.levee.server.grpc.GrpcStatuses;
import dev.levee.server.grpc.proto.InferParameter;
import dev.levee.server.grpc.proto.ModelInferRequest;
import dev.levee.server.grpc.proto.ModelInferResponse;
import dev.levee.server.grpc.proto.ModelInferResponse.InferOutputTensor;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The gRPC transport with a stock grpc-java client. Inputs go in {@code raw_input_contents}, as
 * tritonclient sends them, so outputs come back in {@code raw_output_contents}.
 */
final class GrpcProtocolClient implements ProtocolClient {
    private static final Metadata.Key<String> RETRY_PUSHBACK =
            Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);

    private final GrpcClient client;

    GrpcProtocolClient(int port) {
        client = new GrpcClient(port);
    }

    @Override
    public Outcome infer(InferenceRequest request) {
        ModelInferRequest.Builder message = ModelInferRequest.newBuilder()
                .setModelName(request.model())
                .setModelVersion(request.version())
                .setId(request.id());
        request.parameters().forEach((name, value) -> message.putParameters(name, parameter(value)));
        for (Tensor input : request.inputs()) {
            message.addInputs(GrpcRequests.input(input.name(), input.datatype().name(), input.shape()));
            message.addRawInputContents(ByteString.copyFrom(WireTensors.toRaw(input)));
        }
        for (String output : request.outputs()) {
            message.addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName(output));
        }
        ModelInferResponse response;
        try {
            response = client.infer(message.build());
        } catch (StatusRuntimeException e) {
            Optional<Long> retryAfter = Optional.ofNullable(e.getTrailers())
                    .map(trailers -> trailers.get(RETRY_PUSHBACK))
                    .map(GrpcProtocolClient::wholeSeconds);
            return new Outcome.Failure(e.getStatus().getCode().name(), e.getStatus().getDescription(), retryAfter);
        }
        return new Outcome.Success(decode(response));
    }

    @Override
    public String statusOf(ErrorKind kind) {
        return GrpcStatuses.of(kind).name();
    }

    @Override
    public void close() {
        client.close();
    }

    /** Converts a pushback in milliseconds to seconds; the node sends whole seconds, as Retry-After does. */
    private static long wholeSeconds(String millis) {
        long value = Long.parseLong(millis);
        if (value % 1000 != 0) {
            throw new AssertionError("grpc-retry-pushback-ms " + millis + " is not a whole number of seconds");
        }
        return value / 1000;
    }

    private static InferParameter parameter(Object value) {
        InferParameter.Builder parameter = InferParameter.newBuilder();
        switch (value) {
            case Boolean b -> parameter.setBoolParam(b);
            case Integer i -> parameter.setInt64Param(i);
            case Long l -> parameter.setInt64Param(l);
            case Double d -> parameter.setDoubleParam(d);
            case String s -> parameter.setStringParam(s);
            default -> throw new IllegalArgumentException("parameter value " + value + " has no gRPC form");
        }
        return parameter.build();
    }

    private static InferenceResponse decode(ModelInferResponse response) {
        if (response.getOutputsCount() > 0 && response.getRawOutputContentsCount() != response.getOutputsCount()) {
            throw new AssertionError("response to raw inputs has " + response.getRawOutputContentsCount()
                    + " raw_output_contents for " + response.getOutputsCount() + " outputs");
        }
        List<Tensor> outputs = new ArrayList<>();
        for (int i = 0; i < response.getOutputsCount(); i++) {
            InferOutputTensor output = response.getOutputs(i);
            DataType type = DataType.fromProtocolName(output.getDatatype()).orElseThrow();
            long[] shape = output.getShapeList().stream().mapToLong(Long::longValue).toArray();
            outputs.add(new Tensor(output.getName(), type, shape,
                    WireTensors.fromRaw(type, response.getRawOutputContents(i).toByteArray())));
        }
        Map<String, Object> parameters = new LinkedHashMap<>();
        response.getParametersMap().forEach((name, value) -> parameters.put(name, value(name, value)));
        return new InferenceResponse(response.getId(), response.getModelName(), response.getModelVersion(), outputs,
                parameters);
    }

    private static Object value(String name, InferParameter parameter) {
        return switch (parameter.getParameterChoiceCase()) {
            case BOOL_PARAM -> parameter.getBoolParam();
            case INT64_PARAM -> parameter.getInt64Param();
            case STRING_PARAM -> parameter.getStringParam();
            case DOUBLE_PARAM -> parameter.getDoubleParam();
            case UINT64_PARAM -> Long.toUnsignedString(parameter.getUint64Param());
            case PARAMETERCHOICE_NOT_SET -> throw new AssertionError("parameter '" + name + "' has no value");
        };
    }
}
