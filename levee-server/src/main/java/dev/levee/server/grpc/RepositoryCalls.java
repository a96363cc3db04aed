package dev.levee.server.grpc;

import dev.levee.core.InferenceException;
import dev.levee.server.ModelControl;
import dev.levee.server.ModelIndexEntry;
import dev.levee.server.grpc.proto.ModelRepositoryParameter;
import dev.levee.server.grpc.proto.RepositoryIndexRequest;
import dev.levee.server.grpc.proto.RepositoryIndexResponse;
import dev.levee.server.grpc.proto.RepositoryModelLoadRequest;
import dev.levee.server.grpc.proto.RepositoryModelLoadResponse;
import dev.levee.server.grpc.proto.RepositoryModelUnloadRequest;
import dev.levee.server.grpc.proto.RepositoryModelUnloadResponse;
import java.util.concurrent.CompletableFuture;

/** The model repository extension's gRPC methods, turned into calls on the node's {@link ModelControl}. */
final class RepositoryCalls {
    private final ModelControl control;

    RepositoryCalls(ModelControl control) {
        this.control = control;
    }

    RepositoryIndexResponse index(RepositoryIndexRequest request) {
        requireNoRepositoryName(request.getRepositoryName());
        RepositoryIndexResponse.Builder response = RepositoryIndexResponse.newBuilder();
        for (ModelIndexEntry row : control.index(request.getReady())) {
            response.addModels(RepositoryIndexResponse.ModelIndex.newBuilder()
                    .setName(row.name())
                    .setVersion(row.version())
                    .setState(row.state().name())
                    .setReason(row.reason()));
        }
        return response.build();
    }

    CompletableFuture<RepositoryModelLoadResponse> load(RepositoryModelLoadRequest request) {
        requireNoRepositoryName(request.getRepositoryName());
        request.getParametersMap().keySet().forEach(ModelControl::checkLoadParameter);
        return control.load(request.getModelName())
                .thenApply(done -> RepositoryModelLoadResponse.getDefaultInstance());
    }

    CompletableFuture<RepositoryModelUnloadResponse> unload(RepositoryModelUnloadRequest request) {
        requireNoRepositoryName(request.getRepositoryName());
        ModelRepositoryParameter dependents = request.getParametersMap().get("unload_dependents");
        if (dependents != null
                && dependents.getParameterChoiceCase() != ModelRepositoryParameter.ParameterChoiceCase.BOOL_PARAM) {
            throw InferenceException.invalid("parameter 'unload_dependents' must be a bool_param");
        }
        return control.unload(request.getModelName())
                .thenApply(done -> RepositoryModelUnloadResponse.getDefaultInstance());
    }

    /** Rejects a repository name: a node has one model repository, so a request may name none, meaning any. */
    private static void requireNoRepositoryName(String name) {
        if (!name.isEmpty()) {
            throw InferenceException.invalid("repository_name '" + name + "' is not supported: a Levee node has one "
                    + "model repository, so leave repository_name empty");
        }
    }
}
