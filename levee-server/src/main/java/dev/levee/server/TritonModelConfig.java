package dev.levee.server;

import static java.util.Objects.requireNonNull;

import dev.levee.batching.BatchScheduler;
import dev.levee.core.DataType;
import dev.levee.core.ModelMetadata;
import dev.levee.core.TensorMetadata;
import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelConfig;
import dev.levee.runtime.VersionPolicy;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The configuration of one model version in the terms of Triton's ModelConfig, which the REST
 * {@code /config} endpoint and the gRPC ModelConfig method both return. It contains only what the node
 * really uses; Levee's own settings without a Triton field, such as the target queue delay, are
 * left out.
 *
 * @param name the model name
 * @param platform the platform that model metadata reports, such as {@code onnxruntime_onnx}
 * @param backend the runtime that runs the model, such as {@code onnxruntime}; empty for a
 *     synthetic test model
 * @param maxBatchSize most rows in one request and one batch; 0 when the model does not batch
 * @param inputs the inputs, with dims that leave out the batch dimension when {@code maxBatchSize > 0}
 * @param outputs the outputs, likewise
 * @param preferredBatchSize rows at which a forming batch stops taking requests
 * @param maxQueueDelayMicros longest time the first request of a batch waits for others
 * @param maxQueueSize most requests that may wait in the queue
 * @param defaultTimeoutMicros deadline of requests that carry none; 0 means none
 * @param instanceCount model instances, each running one batch at a time on the CPU
 * @param versionPolicy which version folders of the model the node serves
 * @param parameters the platform settings of {@code config.json}, by name
 */
public record TritonModelConfig(
        String name,
        String platform,
        String backend,
        int maxBatchSize,
        List<Tensor> inputs,
        List<Tensor> outputs,
        int preferredBatchSize,
        long maxQueueDelayMicros,
        int maxQueueSize,
        long defaultTimeoutMicros,
        int instanceCount,
        VersionPolicy versionPolicy,
        Map<String, String> parameters) {

    public TritonModelConfig {
        requireNonNull(name, "name");
        requireNonNull(platform, "platform");
        requireNonNull(backend, "backend");
        requireNonNull(versionPolicy, "versionPolicy");
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        parameters = Map.copyOf(parameters);
    }

    /** An input or output: its name, Triton's name of its type, such as {@code TYPE_FP32}, and its dims. */
    public record Tensor(String name, String dataType, long[] dims) {
        public Tensor {
            requireNonNull(name, "name");
            requireNonNull(dataType, "dataType");
            dims = dims.clone();
        }

        @Override
        public long[] dims() {
            return dims.clone();
        }
    }

    /** Describes the model version that {@code scheduler} serves. */
    public static TritonModelConfig of(BatchScheduler scheduler) {
        LoadedModel loaded = scheduler.model();
        ModelConfig config = loaded.config();
        ModelMetadata metadata = loaded.model().metadata();
        boolean batching = loaded.model().batching();
        int maxBatchSize = batching ? config.maxBatchSize() : 0;
        return new TritonModelConfig(
                loaded.name(),
                metadata.platform(),
                backend(config.platform()),
                maxBatchSize,
                tensors(metadata.inputs(), maxBatchSize > 0),
                tensors(metadata.outputs(), maxBatchSize > 0),
                scheduler.preferredBatchSize(),
                config.maxQueueDelay().toNanos() / 1000,
                config.maxQueueSize(),
                config.defaultTimeout().toNanos() / 1000,
                config.instanceCount(),
                config.versionPolicy(),
                new TreeMap<>(config.parameters()));
    }

    /** Returns Triton's name of a v2 datatype: {@code TYPE_} and the name, with BYTES as {@code TYPE_STRING}. */
    public static String tritonDataType(DataType type) {
        return type == DataType.BYTES ? "TYPE_STRING" : "TYPE_" + type.name();
    }

    private static String backend(String leveePlatform) {
        return switch (leveePlatform) {
            // A text embedding model is an ONNX model with a tokenizer in front of it.
            case "onnx", "text_embedding" -> "onnxruntime";
            default -> "";
        };
    }

    private static List<Tensor> tensors(List<TensorMetadata> tensors, boolean dropBatchDimension) {
        return tensors.stream()
                .map(tensor -> {
                    long[] shape = tensor.shape();
                    long[] dims = dropBatchDimension && shape.length > 0
                            ? Arrays.copyOfRange(shape, 1, shape.length)
                            : shape;
                    return new Tensor(tensor.name(), tritonDataType(tensor.datatype()), dims);
                })
                .toList();
    }
}
