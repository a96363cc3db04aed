package dev.levee.server.rest;

import dev.levee.batching.BatchScheduler;
import dev.levee.batching.InferenceStatistics;
import dev.levee.runtime.VersionPolicy;
import dev.levee.server.TritonModelConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON bodies of Triton's model configuration and statistics extensions, with Triton's field
 * names. Numbers are JSON numbers, as Triton's REST API writes them, not the strings that
 * protobuf's JSON mapping uses for 64-bit fields.
 */
final class ExtensionJson {
    private ExtensionJson() {}

    /** Returns the body of {@code GET /v2/models/{name}[/versions/{version}]/config}. */
    static Map<String, Object> config(TritonModelConfig config) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("name", config.name());
        json.put("platform", config.platform());
        json.put("backend", config.backend());
        json.put("version_policy", versionPolicy(config.versionPolicy()));
        json.put("max_batch_size", config.maxBatchSize());
        json.put("input", tensors(config.inputs()));
        json.put("output", tensors(config.outputs()));
        json.put("instance_group", List.of(Map.of(
                "name", config.name(), "kind", "KIND_CPU", "count", config.instanceCount())));
        if (config.maxBatchSize() > 0) {
            json.put("dynamic_batching", Map.of(
                    "preferred_batch_size", List.of(config.preferredBatchSize()),
                    "max_queue_delay_microseconds", config.maxQueueDelayMicros(),
                    "default_queue_policy", Map.of(
                            "default_timeout_microseconds", config.defaultTimeoutMicros(),
                            "max_queue_size", config.maxQueueSize())));
        }
        Map<String, Object> parameters = new LinkedHashMap<>();
        config.parameters().forEach((key, value) -> parameters.put(key, Map.of("string_value", value)));
        json.put("parameters", parameters);
        return json;
    }

    private static Map<String, Object> versionPolicy(VersionPolicy policy) {
        return switch (policy) {
            case VersionPolicy.Latest latest -> Map.of("latest", Map.of("num_versions", latest.count()));
            case VersionPolicy.All all -> Map.of("all", Map.of());
            case VersionPolicy.Specific specific -> Map.of("specific", Map.of("versions", specific.versions()));
        };
    }

    private static List<Map<String, Object>> tensors(List<TritonModelConfig.Tensor> tensors) {
        List<Map<String, Object>> json = new ArrayList<>();
        for (TritonModelConfig.Tensor tensor : tensors) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("name", tensor.name());
            entry.put("data_type", tensor.dataType());
            entry.put("dims", tensor.dims());
            json.add(entry);
        }
        return json;
    }

    /** Returns the body of {@code GET /v2/models[/{name}[/versions/{version}]]/stats}. */
    static Map<String, Object> statistics(List<BatchScheduler> schedulers) {
        List<Map<String, Object>> models = new ArrayList<>();
        for (BatchScheduler scheduler : schedulers) {
            InferenceStatistics.Snapshot stats = scheduler.statistics().snapshot();
            Map<String, Object> model = new LinkedHashMap<>();
            model.put("name", scheduler.model().name());
            model.put("version", scheduler.model().version());
            model.put("last_inference", stats.lastInferenceMillis());
            model.put("inference_count", stats.inferenceCount());
            model.put("execution_count", stats.executionCount());
            Map<String, Object> inference = new LinkedHashMap<>();
            inference.put("success", duration(stats.success()));
            inference.put("fail", duration(stats.fail()));
            inference.put("queue", duration(stats.queue()));
            inference.put("compute_input", duration(InferenceStatistics.Duration.ZERO));
            inference.put("compute_infer", duration(stats.computeInfer()));
            inference.put("compute_output", duration(InferenceStatistics.Duration.ZERO));
            model.put("inference_stats", inference);
            List<Map<String, Object>> batches = new ArrayList<>();
            for (InferenceStatistics.BatchSize batch : stats.batches()) {
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("batch_size", batch.rows());
                entry.put("compute_input", duration(InferenceStatistics.Duration.ZERO));
                entry.put("compute_infer", duration(batch.computeInfer()));
                entry.put("compute_output", duration(InferenceStatistics.Duration.ZERO));
                batches.add(entry);
            }
            model.put("batch_stats", batches);
            models.add(model);
        }
        return Map.of("model_stats", models);
    }

    private static Map<String, Object> duration(InferenceStatistics.Duration duration) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("count", duration.count());
        json.put("ns", duration.nanos());
        return json;
    }
}
