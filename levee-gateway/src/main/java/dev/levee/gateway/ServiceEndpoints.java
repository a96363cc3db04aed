package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.util.List;

/** The ready endpoints of one Kubernetes Service as nodes, listed from its EndpointSlices on each resolution. */
record ServiceEndpoints(KubernetesService service, KubernetesApi api) implements NodeSource {
    ServiceEndpoints {
        requireNonNull(service, "service");
        requireNonNull(api, "api");
    }

    @Override
    public List<NodeAddress> resolve() throws IOException {
        return service.addresses(api.endpointSlices(service.namespace(), service.name()));
    }
}
