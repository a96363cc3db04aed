package dev.levee.server;

/**
 * The state of one model version on a node, with the names the model repository extension's
 * index reports.
 */
public enum ModelState {
    /** The version is being loaded; requests for it get 503 with Retry-After. */
    LOADING,
    /** The version serves requests. */
    READY,
    /** The version runs the requests it admitted, then unloads; new requests for it get 503 with Retry-After. */
    UNLOADING,
    /** The version does not serve: it failed to load, was unloaded, or was never loaded, as its reason tells. */
    UNAVAILABLE
}
