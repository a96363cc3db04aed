package dev.levee.runtime;

import static java.util.Objects.requireNonNull;

/** A model version ready to serve, with the configuration its scheduler is built from. */
public record LoadedModel(ModelConfig config, String version, Model model) {
    public LoadedModel {
        requireNonNull(config, "config");
        requireNonNull(version, "version");
        requireNonNull(model, "model");
    }

    public String name() {
        return config.name();
    }
}
