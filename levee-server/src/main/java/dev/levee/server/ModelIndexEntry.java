package dev.levee.server;

import static java.util.Objects.requireNonNull;

/**
 * One row of the model repository index: a model version and its state.
 *
 * @param name the model name
 * @param version the version number, or empty for a model that has no version to name, such as
 *     one that is not loaded or whose configuration could not be read
 * @param state the state of that version
 * @param reason why the version is in that state; empty for READY
 */
public record ModelIndexEntry(String name, String version, ModelState state, String reason) {
    public ModelIndexEntry {
        requireNonNull(name, "name");
        requireNonNull(version, "version");
        requireNonNull(state, "state");
        requireNonNull(reason, "reason");
    }
}
