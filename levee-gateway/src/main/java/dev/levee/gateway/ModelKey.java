package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

/**
 * A model and version as a request names them, the unit of model-aware routing.
 *
 * @param model the model name
 * @param version the version, or empty for the version the node serves by default
 */
public record ModelKey(String model, String version) {
    /** The key of requests that name no model, such as server metadata; any serving node may take them. */
    static final ModelKey NONE = new ModelKey("", "");

    public ModelKey {
        requireNonNull(model, "model");
        requireNonNull(version, "version");
    }

    /** Returns the node path of this model's readiness endpoint, percent-encoded. */
    String readyPath() {
        String path = "/v2/models/" + PathSegments.encode(model);
        if (!version.isEmpty()) {
            path += "/versions/" + PathSegments.encode(version);
        }
        return path + "/ready";
    }

    @Override
    public String toString() {
        return version.isEmpty() ? model : model + " version " + version;
    }
}
