package dev.levee.runtime;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Serving settings of one model, read from the {@code config.json} beside its version folders.
 *
 * @param name the model name, which is its folder's name
 * @param platform how the model runs: {@code onnx}, {@code text_embedding} or {@code synthetic}
 * @param maxBatchSize largest number of rows in one batch, and so in one request; 0 turns batching off
 * @param preferredBatchSize rows at which the scheduler stops adding requests to a batch, when
 *     smaller than the max: larger batches would cost latency for little throughput. A request
 *     with more rows still runs, alone. 0 means the max batch size
 * @param maxQueueDelay longest time the first request of a batch waits for others to join it
 * @param maxQueueSize most requests that may wait in the queue; more are rejected with 503
 * @param instanceCount number of model instances, each running one batch at a time
 * @param intraOpThreads ONNX Runtime threads per run; 0 takes the number of processors less one
 * @param defaultTimeout deadline given to requests that carry none; zero means none
 * @param targetQueueDelay queueing delay the admission controller keeps the queue under
 * @param parameters platform-specific settings, such as a synthetic model's service time
 * @param versionPolicy which numbered version folders are served
 */
public record ModelConfig(
        String name,
        String platform,
        int maxBatchSize,
        int preferredBatchSize,
        Duration maxQueueDelay,
        int maxQueueSize,
        int instanceCount,
        int intraOpThreads,
        Duration defaultTimeout,
        Duration targetQueueDelay,
        Map<String, String> parameters,
        VersionPolicy versionPolicy) {

    public static final int DEFAULT_MAX_BATCH_SIZE = 32;
    public static final Duration DEFAULT_MAX_QUEUE_DELAY = Duration.ofMillis(2);
    public static final int DEFAULT_MAX_QUEUE_SIZE = 256;
    public static final Duration DEFAULT_TARGET_QUEUE_DELAY = Duration.ofMillis(100);

    public ModelConfig {
        requireNonNull(name, "name");
        requireNonNull(platform, "platform");
        requireNonNull(maxQueueDelay, "maxQueueDelay");
        requireNonNull(defaultTimeout, "defaultTimeout");
        requireNonNull(targetQueueDelay, "targetQueueDelay");
        requireNonNull(versionPolicy, "versionPolicy");
        parameters = Map.copyOf(parameters);
        if (maxBatchSize < 0) {
            throw new IllegalArgumentException("max_batch_size: " + maxBatchSize + " (expected: >= 0)");
        }
        if (preferredBatchSize < 0) {
            throw new IllegalArgumentException(
                    "preferred_batch_size: " + preferredBatchSize + " (expected: >= 0)");
        }
        if (maxQueueDelay.isNegative()) {
            throw new IllegalArgumentException(
                    "max_queue_delay_ms: " + maxQueueDelay.toMillis() + " (expected: >= 0)");
        }
        if (maxQueueSize <= 0) {
            throw new IllegalArgumentException("max_queue_size: " + maxQueueSize + " (expected: > 0)");
        }
        if (instanceCount <= 0) {
            throw new IllegalArgumentException("instance_count: " + instanceCount + " (expected: > 0)");
        }
        if (defaultTimeout.isNegative()) {
            throw new IllegalArgumentException(
                    "default_timeout_ms: " + defaultTimeout.toMillis() + " (expected: >= 0)");
        }
        if (targetQueueDelay.isNegative() || targetQueueDelay.isZero()) {
            throw new IllegalArgumentException(
                    "target_queue_delay_ms: " + targetQueueDelay.toMillis() + " (expected: > 0)");
        }
        if (intraOpThreads < 0) {
            throw new IllegalArgumentException("intra_op_threads: " + intraOpThreads + " (expected: >= 0)");
        }
    }

    /** Returns a configuration with the defaults for everything but the name and platform. */
    public static ModelConfig defaults(String name, String platform) {
        return new ModelConfig(name, platform, DEFAULT_MAX_BATCH_SIZE, 0, DEFAULT_MAX_QUEUE_DELAY,
                DEFAULT_MAX_QUEUE_SIZE, 1, 0, Duration.ZERO, DEFAULT_TARGET_QUEUE_DELAY, Map.of(),
                VersionPolicy.LATEST_ONE);
    }

    /**
     * Reads a configuration from parsed {@code config.json}. Absent fields take the defaults;
     * unknown fields are an error, so a misspelt setting is not silently ignored.
     */
    public static ModelConfig fromJson(String name, JsonNode json) {
        if (!json.isObject()) {
            throw new IllegalArgumentException("config.json of model " + name + " must be a JSON object");
        }
        String platform = "onnx";
        int maxBatchSize = DEFAULT_MAX_BATCH_SIZE;
        int preferredBatchSize = 0;
        long maxQueueDelayMicros = DEFAULT_MAX_QUEUE_DELAY.toNanos() / 1000;
        int maxQueueSize = DEFAULT_MAX_QUEUE_SIZE;
        int instanceCount = 1;
        int intraOpThreads = 0;
        Duration defaultTimeout = Duration.ZERO;
        Duration targetQueueDelay = DEFAULT_TARGET_QUEUE_DELAY;
        Map<String, String> parameters = new HashMap<>();
        VersionPolicy versionPolicy = VersionPolicy.LATEST_ONE;
        Iterator<Map.Entry<String, JsonNode>> fields = json.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            JsonNode value = field.getValue();
            switch (field.getKey()) {
                case "platform" -> platform = value.asText();
                case "max_batch_size" -> maxBatchSize = intField(name, field.getKey(), value);
                case "preferred_batch_size" -> preferredBatchSize = intField(name, field.getKey(), value);
                case "max_queue_delay_ms" -> maxQueueDelayMicros = Math.round(value.asDouble() * 1000);
                case "max_queue_size" -> maxQueueSize = intField(name, field.getKey(), value);
                case "instance_count" -> instanceCount = intField(name, field.getKey(), value);
                case "intra_op_threads" -> intraOpThreads = intField(name, field.getKey(), value);
                case "default_timeout_ms" -> defaultTimeout = Duration.ofMillis(intField(name, field.getKey(), value));
                case "target_queue_delay_ms" ->
                        targetQueueDelay = Duration.ofMillis(intField(name, field.getKey(), value));
                case "parameters" -> value.fields().forEachRemaining(
                        p -> parameters.put(p.getKey(), p.getValue().asText()));
                case "version_policy" -> versionPolicy = VersionPolicy.fromJson(name, value);
                default -> throw new IllegalArgumentException(
                        "config.json of model " + name + ": unknown field '" + field.getKey() + "'");
            }
        }
        return new ModelConfig(name, platform, maxBatchSize, preferredBatchSize,
                Duration.ofNanos(maxQueueDelayMicros * 1000),
                maxQueueSize, instanceCount, intraOpThreads, defaultTimeout, targetQueueDelay, parameters,
                versionPolicy);
    }

    private static int intField(String model, String field, JsonNode value) {
        if (!value.canConvertToInt() || !value.isIntegralNumber()) {
            throw new IllegalArgumentException(
                    "config.json of model " + model + ": " + field + ": " + value + " (expected: an integer)");
        }
        return value.intValue();
    }

    public ModelConfig withMaxBatchSize(int size) {
        return new ModelConfig(name, platform, size, preferredBatchSize, maxQueueDelay, maxQueueSize, instanceCount,
                intraOpThreads, defaultTimeout, targetQueueDelay, parameters, versionPolicy);
    }

    public ModelConfig withPreferredBatchSize(int size) {
        return new ModelConfig(name, platform, maxBatchSize, size, maxQueueDelay, maxQueueSize, instanceCount,
                intraOpThreads, defaultTimeout, targetQueueDelay, parameters, versionPolicy);
    }

    public ModelConfig withMaxQueueSize(int size) {
        return new ModelConfig(name, platform, maxBatchSize, preferredBatchSize, maxQueueDelay, size, instanceCount,
                intraOpThreads, defaultTimeout, targetQueueDelay, parameters, versionPolicy);
    }

    public ModelConfig withMaxQueueDelay(Duration delay) {
        return new ModelConfig(name, platform, maxBatchSize, preferredBatchSize, delay, maxQueueSize, instanceCount,
                intraOpThreads, defaultTimeout, targetQueueDelay, parameters, versionPolicy);
    }

    public ModelConfig withInstanceCount(int count) {
        return new ModelConfig(name, platform, maxBatchSize, preferredBatchSize, maxQueueDelay, maxQueueSize, count,
                intraOpThreads, defaultTimeout, targetQueueDelay, parameters, versionPolicy);
    }

    public ModelConfig withDefaultTimeout(Duration timeout) {
        return new ModelConfig(name, platform, maxBatchSize, preferredBatchSize, maxQueueDelay, maxQueueSize,
                instanceCount, intraOpThreads, timeout, targetQueueDelay, parameters, versionPolicy);
    }

    public ModelConfig withTargetQueueDelay(Duration delay) {
        return new ModelConfig(name, platform, maxBatchSize, preferredBatchSize, maxQueueDelay, maxQueueSize,
                instanceCount, intraOpThreads, defaultTimeout, delay, parameters, versionPolicy);
    }

    public ModelConfig withParameter(String key, String value) {
        Map<String, String> copy = new HashMap<>(parameters);
        copy.put(key, value);
        return new ModelConfig(name, platform, maxBatchSize, preferredBatchSize, maxQueueDelay, maxQueueSize,
                instanceCount, intraOpThreads, defaultTimeout, targetQueueDelay, copy, versionPolicy);
    }

    public ModelConfig withVersionPolicy(VersionPolicy policy) {
        return new ModelConfig(name, platform, maxBatchSize, preferredBatchSize, maxQueueDelay, maxQueueSize,
                instanceCount, intraOpThreads, defaultTimeout, targetQueueDelay, parameters, policy);
    }
}
