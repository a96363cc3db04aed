package dev.levee.core;

import static java.util.Objects.requireNonNull;

import java.util.List;

/** What the protocol's model metadata endpoint returns for one model version. */
public record ModelMetadata(
        String name, List<String> versions, String platform, List<TensorMetadata> inputs,
        List<TensorMetadata> outputs) {
    public ModelMetadata {
        requireNonNull(name, "name");
        requireNonNull(platform, "platform");
        versions = List.copyOf(versions);
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }

    public java.util.Optional<TensorMetadata> input(String inputName) {
        return inputs.stream().filter(t -> t.name().equals(inputName)).findFirst();
    }

    public java.util.Optional<TensorMetadata> output(String outputName) {
        return outputs.stream().filter(t -> t.name().equals(outputName)).findFirst();
    }
}
