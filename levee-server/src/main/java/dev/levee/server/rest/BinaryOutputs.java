package dev.levee.server.rest;

import dev.levee.core.InferenceException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The choice between binary data and JSON for each output of a REST response. The request
 * parameter {@code binary_data_output} sets the default for all outputs, and the
 * {@code binary_data} parameter of an entry in {@code outputs} overrides it for that output, as
 * the binary tensor extension defines.
 */
final class BinaryOutputs {
    static final String ALL_OUTPUTS_PARAMETER = "binary_data_output";
    static final String OUTPUT_PARAMETER = "binary_data";

    /** Every output as JSON. */
    static final BinaryOutputs NONE = new BinaryOutputs(false, Map.of());

    private final boolean binaryByDefault;
    private final Map<String, Boolean> binaryByOutput;

    private BinaryOutputs(boolean binaryByDefault, Map<String, Boolean> binaryByOutput) {
        this.binaryByDefault = binaryByDefault;
        this.binaryByOutput = Map.copyOf(binaryByOutput);
    }

    /** Reads the extension's parameters; throws INVALID_ARGUMENT when one is not a boolean. */
    static BinaryOutputs of(Map<String, Object> requestParameters, List<RequestedOutput> outputs) {
        boolean binaryByDefault = flag(requestParameters.get(ALL_OUTPUTS_PARAMETER),
                "parameter '" + ALL_OUTPUTS_PARAMETER + "'");
        Map<String, Boolean> binaryByOutput = new HashMap<>();
        for (RequestedOutput output : outputs) {
            Object value = output.parameters().get(OUTPUT_PARAMETER);
            if (value != null) {
                binaryByOutput.put(output.name(), flag(value,
                        "output '" + output.name() + "' parameter '" + OUTPUT_PARAMETER + "'"));
            }
        }
        if (!binaryByDefault && binaryByOutput.isEmpty()) {
            return NONE;
        }
        return new BinaryOutputs(binaryByDefault, binaryByOutput);
    }

    private static boolean flag(Object value, String where) {
        if (value == null) {
            return false;
        }
        if (!(value instanceof Boolean bool)) {
            throw InferenceException.invalid(where + ": " + value + " (expected: true or false)");
        }
        return bool;
    }

    /** Returns whether the output with this name goes in binary form. */
    boolean isBinary(String output) {
        return binaryByOutput.getOrDefault(output, binaryByDefault);
    }
}
