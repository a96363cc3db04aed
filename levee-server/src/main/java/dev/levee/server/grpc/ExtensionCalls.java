package dev.levee.server.grpc;

import dev.levee.batching.BatchScheduler;
import dev.levee.batching.InferenceStatistics;
import dev.levee.runtime.VersionPolicy;
import dev.levee.server.ModelRegistry;
import dev.levee.server.TritonModelConfig;
import dev.levee.server.grpc.proto.DataType;
import dev.levee.server.grpc.proto.InferBatchStatistics;
import dev.levee.server.grpc.proto.InferStatistics;
import dev.levee.server.grpc.proto.ModelConfig;
import dev.levee.server.grpc.proto.ModelConfigRequest;
import dev.levee.server.grpc.proto.ModelConfigResponse;
import dev.levee.server.grpc.proto.ModelDynamicBatching;
import dev.levee.server.grpc.proto.ModelInput;
import dev.levee.server.grpc.proto.ModelInstanceGroup;
import dev.levee.server.grpc.proto.ModelOutput;
import dev.levee.server.grpc.proto.ModelParameter;
import dev.levee.server.grpc.proto.ModelQueuePolicy;
import dev.levee.server.grpc.proto.ModelStatistics;
import dev.levee.server.grpc.proto.ModelStatisticsRequest;
import dev.levee.server.grpc.proto.ModelStatisticsResponse;
import dev.levee.server.grpc.proto.ModelVersionPolicy;
import dev.levee.server.grpc.proto.StatisticDuration;

/** Triton's model configuration and statistics extensions over gRPC: ModelConfig and ModelStatistics. */
final class ExtensionCalls {
    private final ModelRegistry registry;

    ExtensionCalls(ModelRegistry registry) {
        this.registry = registry;
    }

    ModelConfigResponse config(ModelConfigRequest request) {
        TritonModelConfig config = TritonModelConfig.of(registry.find(request.getName(), request.getVersion()));
        ModelConfig.Builder message = ModelConfig.newBuilder()
                .setName(config.name())
                .setPlatform(config.platform())
                .setBackend(config.backend())
                .setVersionPolicy(versionPolicy(config.versionPolicy()))
                .setMaxBatchSize(config.maxBatchSize())
                .addInstanceGroup(ModelInstanceGroup.newBuilder()
                        .setName(config.name())
                        .setKind(ModelInstanceGroup.Kind.KIND_CPU)
                        .setCount(config.instanceCount()));
        for (TritonModelConfig.Tensor input : config.inputs()) {
            ModelInput.Builder tensor = ModelInput.newBuilder()
                    .setName(input.name())
                    .setDataType(DataType.valueOf(input.dataType()));
            for (long dim : input.dims()) {
                tensor.addDims(dim);
            }
            message.addInput(tensor);
        }
        for (TritonModelConfig.Tensor output : config.outputs()) {
            ModelOutput.Builder tensor = ModelOutput.newBuilder()
                    .setName(output.name())
                    .setDataType(DataType.valueOf(output.dataType()));
            for (long dim : output.dims()) {
                tensor.addDims(dim);
            }
            message.addOutput(tensor);
        }
        if (config.maxBatchSize() > 0) {
            message.setDynamicBatching(ModelDynamicBatching.newBuilder()
                    .addPreferredBatchSize(config.preferredBatchSize())
                    .setMaxQueueDelayMicroseconds(config.maxQueueDelayMicros())
                    .setDefaultQueuePolicy(ModelQueuePolicy.newBuilder()
                            .setDefaultTimeoutMicroseconds(config.defaultTimeoutMicros())
                            .setMaxQueueSize(config.maxQueueSize())));
        }
        config.parameters().forEach((key, value) ->
                message.putParameters(key, ModelParameter.newBuilder().setStringValue(value).build()));
        return ModelConfigResponse.newBuilder().setConfig(message).build();
    }

    private static ModelVersionPolicy versionPolicy(VersionPolicy policy) {
        ModelVersionPolicy.Builder message = ModelVersionPolicy.newBuilder();
        switch (policy) {
            case VersionPolicy.Latest latest ->
                    message.setLatest(ModelVersionPolicy.Latest.newBuilder().setNumVersions(latest.count()));
            case VersionPolicy.All all -> message.setAll(ModelVersionPolicy.All.getDefaultInstance());
            case VersionPolicy.Specific specific ->
                    message.setSpecific(ModelVersionPolicy.Specific.newBuilder().addAllVersions(specific.versions()));
        }
        return message.build();
    }

    ModelStatisticsResponse statistics(ModelStatisticsRequest request) {
        ModelStatisticsResponse.Builder response = ModelStatisticsResponse.newBuilder();
        for (BatchScheduler scheduler : registry.statisticsSchedulers(request.getName(), request.getVersion())) {
            InferenceStatistics.Snapshot stats = scheduler.statistics().snapshot();
            ModelStatistics.Builder model = ModelStatistics.newBuilder()
                    .setName(scheduler.model().name())
                    .setVersion(scheduler.model().version())
                    .setLastInference(stats.lastInferenceMillis())
                    .setInferenceCount(stats.inferenceCount())
                    .setExecutionCount(stats.executionCount())
                    .setInferenceStats(InferStatistics.newBuilder()
                            .setSuccess(duration(stats.success()))
                            .setFail(duration(stats.fail()))
                            .setQueue(duration(stats.queue()))
                            .setComputeInput(StatisticDuration.getDefaultInstance())
                            .setComputeInfer(duration(stats.computeInfer()))
                            .setComputeOutput(StatisticDuration.getDefaultInstance()));
            for (InferenceStatistics.BatchSize batch : stats.batches()) {
                model.addBatchStats(InferBatchStatistics.newBuilder()
                        .setBatchSize(batch.rows())
                        .setComputeInput(StatisticDuration.getDefaultInstance())
                        .setComputeInfer(duration(batch.computeInfer()))
                        .setComputeOutput(StatisticDuration.getDefaultInstance()));
            }
            response.addModelStats(model);
        }
        return response.build();
    }

    private static StatisticDuration duration(InferenceStatistics.Duration duration) {
        return StatisticDuration.newBuilder().setCount(duration.count()).setNs(duration.nanos()).build();
    }
}
