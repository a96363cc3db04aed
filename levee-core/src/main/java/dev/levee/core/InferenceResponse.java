package dev.levee.core;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Map;

/** The outputs of one inference request, with the request's id and parameters echoed. */
public record InferenceResponse(
        String id, String model, String version, List<Tensor> outputs, Map<String, Object> parameters) {
    public InferenceResponse {
        requireNonNull(id, "id");
        requireNonNull(model, "model");
        requireNonNull(version, "version");
        outputs = List.copyOf(outputs);
        parameters = Map.copyOf(parameters);
    }
}
