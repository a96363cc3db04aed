package dev.levee.core;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Map;

/**
 * A decoded inference request, independent of the transport it arrived on.
 *
 * @param id the client's request id, echoed in the response; empty when the client sent none
 * @param model the model name
 * @param version the requested version; empty means the newest ready version
 * @param inputs the input tensors
 * @param outputs names of the outputs to return; empty means all of them
 * @param parameters request parameters, passed through to the response untouched
 * @param deadlineNanos the {@link Clock#nanoTime()} after which nobody waits for the result
 * @param priority how the request ranks when the model is overloaded
 */
public record InferenceRequest(
        String id,
        String model,
        String version,
        List<Tensor> inputs,
        List<String> outputs,
        Map<String, Object> parameters,
        long deadlineNanos,
        Priority priority) {

    /** Deadline value for a request that carries none. */
    public static final long NO_DEADLINE = Long.MAX_VALUE;

    public InferenceRequest {
        requireNonNull(id, "id");
        requireNonNull(model, "model");
        requireNonNull(version, "version");
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        parameters = Map.copyOf(parameters);
        requireNonNull(priority, "priority");
    }

    /** A request of normal priority. */
    public InferenceRequest(String id, String model, String version, List<Tensor> inputs, List<String> outputs,
            Map<String, Object> parameters, long deadlineNanos) {
        this(id, model, version, inputs, outputs, parameters, deadlineNanos, Priority.NORMAL);
    }

    public boolean hasDeadline() {
        return deadlineNanos != NO_DEADLINE;
    }

    /** Returns the input with the given name, if the request has one. */
    public java.util.Optional<Tensor> input(String name) {
        for (Tensor tensor : inputs) {
            if (tensor.name().equals(name)) {
                return java.util.Optional.of(tensor);
            }
        }
        return java.util.Optional.empty();
    }

    /**
     * Number of batch rows this request contributes: the first dimension of its first input, or 1
     * when that input is a scalar.
     */
    public int rows() {
        return inputs.isEmpty() ? 1 : (int) inputs.getFirst().batchSize();
    }

    public InferenceRequest withDeadline(long newDeadlineNanos) {
        return new InferenceRequest(id, model, version, inputs, outputs, parameters, newDeadlineNanos, priority);
    }

    public InferenceRequest withPriority(Priority newPriority) {
        return new InferenceRequest(id, model, version, inputs, outputs, parameters, deadlineNanos, newPriority);
    }
}
