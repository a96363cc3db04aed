package dev.levee.server.grpc;

import dev.levee.core.InferenceException;
import dev.levee.server.grpc.proto.InferParameter;
import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Converts request parameters between {@link InferParameter} and the protocol-neutral map of
 * {@link dev.levee.core.InferenceRequest#parameters()}. A uint64 value is kept as a
 * {@link BigInteger} and an int64 value as a {@link Long}, so an echoed parameter keeps its kind.
 */
final class InferParameters {
    private static final BigInteger UINT64_LIMIT = BigInteger.ONE.shiftLeft(64);

    private InferParameters() {}

    /** Reads parameters; throws INVALID_ARGUMENT for one that carries no value. */
    static Map<String, Object> decode(Map<String, InferParameter> parameters) {
        Map<String, Object> values = new LinkedHashMap<>();
        parameters.forEach((name, parameter) -> values.put(name, switch (parameter.getParameterChoiceCase()) {
            case BOOL_PARAM -> parameter.getBoolParam();
            case INT64_PARAM -> parameter.getInt64Param();
            case STRING_PARAM -> parameter.getStringParam();
            case DOUBLE_PARAM -> parameter.getDoubleParam();
            case UINT64_PARAM -> new BigInteger(Long.toUnsignedString(parameter.getUint64Param()));
            case PARAMETERCHOICE_NOT_SET -> throw InferenceException.invalid("parameter '" + name
                    + "' has no value (expected: one of bool_param, int64_param, string_param, double_param,"
                    + " uint64_param)");
        }));
        return values;
    }

    /**
     * Writes parameters. Values that fit no InferParameter field, such as the JSON objects a
     * REST request may carry, are written as their string form.
     */
    static Map<String, InferParameter> encode(Map<String, Object> parameters) {
        Map<String, InferParameter> encoded = new LinkedHashMap<>();
        parameters.forEach((name, value) -> encoded.put(name, encodeValue(value)));
        return encoded;
    }

    private static InferParameter encodeValue(Object value) {
        InferParameter.Builder parameter = InferParameter.newBuilder();
        switch (value) {
            case Boolean b -> parameter.setBoolParam(b);
            case Long l -> parameter.setInt64Param(l);
            case Integer i -> parameter.setInt64Param(i);
            case Double d -> parameter.setDoubleParam(d);
            case Float f -> parameter.setDoubleParam(f);
            case String s -> parameter.setStringParam(s);
            case BigInteger big when big.signum() >= 0 && big.compareTo(UINT64_LIMIT) < 0 ->
                    parameter.setUint64Param(big.longValue());
            default -> parameter.setStringParam(String.valueOf(value));
        }
        return parameter.build();
    }
}
