package dev.levee.runtime;

import static java.util.Objects.requireNonNull;

import dev.levee.core.InferenceException;
import dev.levee.core.Tensor;
import java.util.List;

/** What a model run produced for one request of a batch. */
public sealed interface RowOutcome {

    /** The request's own output tensors, every one of them with the request's rows only. */
    record Success(List<Tensor> outputs) implements RowOutcome {
        public Success {
            outputs = List.copyOf(outputs);
        }
    }

    /** This request failed; the other requests of the batch are unaffected. */
    record Failure(InferenceException error) implements RowOutcome {
        public Failure {
            requireNonNull(error, "error");
        }
    }
}
