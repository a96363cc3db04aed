package dev.levee.server.rest;

import static java.util.Objects.requireNonNull;

import java.util.Map;

/** An entry of a REST request's {@code outputs} array: the output's name and its parameters. */
record RequestedOutput(String name, Map<String, Object> parameters) {
    RequestedOutput {
        requireNonNull(name, "name");
        parameters = Map.copyOf(parameters);
    }
}
