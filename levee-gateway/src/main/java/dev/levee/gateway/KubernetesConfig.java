package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Settings with which the gateway reaches the Kubernetes API for {@code k8s:} node entries.
 * {@link #inCluster} gives the settings of a pod; tests and gateways outside a cluster set the
 * API server themselves.
 *
 * @param apiServer base URL of the API server, {@code https} or, only when set explicitly, {@code http}
 * @param tokenFile file with the bearer token, read again on every request because tokens rotate.
 *     The token is sent only over https, and not at all when the file does not exist.
 * @param caFile PEM file with the certificates of the CAs that sign the API server's certificate
 * @param namespaceFile file with the pod's namespace, used for entries that name no namespace
 * @param timeout maximum time to list the EndpointSlices of one service, all pages together
 */
public record KubernetesConfig(URI apiServer, Path tokenFile, Path caFile, Path namespaceFile, Duration timeout) {
    /** Directory where Kubernetes mounts a pod's service account token, CA and namespace. */
    public static final Path SERVICE_ACCOUNT = Path.of("/var/run/secrets/kubernetes.io/serviceaccount");
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    public KubernetesConfig {
        requireNonNull(apiServer, "apiServer");
        requireNonNull(tokenFile, "tokenFile");
        requireNonNull(caFile, "caFile");
        requireNonNull(namespaceFile, "namespaceFile");
        requireNonNull(timeout, "timeout");
        String scheme = apiServer.getScheme();
        if (!("https".equals(scheme) || "http".equals(scheme)) || apiServer.getHost() == null) {
            throw new IllegalArgumentException("Kubernetes API URL '" + apiServer
                    + "' is invalid (expected: https://HOST[:PORT] or http://HOST[:PORT])");
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
        }
    }

    /** Returns the settings for {@code apiServer} with the service account files of a pod. */
    public static KubernetesConfig of(URI apiServer) {
        return new KubernetesConfig(apiServer, SERVICE_ACCOUNT.resolve("token"), SERVICE_ACCOUNT.resolve("ca.crt"),
                SERVICE_ACCOUNT.resolve("namespace"), DEFAULT_TIMEOUT);
    }

    /**
     * Returns the settings of a pod: the API server from {@code KUBERNETES_SERVICE_HOST} and
     * {@code KUBERNETES_SERVICE_PORT} over https, and the service account files.
     *
     * @throws IllegalArgumentException when {@code KUBERNETES_SERVICE_HOST} is not set, so the process
     *     does not run in a pod
     */
    public static KubernetesConfig inCluster(Map<String, String> environment) {
        String host = environment.get("KUBERNETES_SERVICE_HOST");
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("k8s: node entries need the Kubernetes API, but KUBERNETES_SERVICE_HOST "
                    + "is not set, so the gateway does not run in a pod (outside a pod, give the API server's URL "
                    + "with --kubernetes-api)");
        }
        String port = environment.getOrDefault("KUBERNETES_SERVICE_PORT", "443");
        String authority = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        return of(URI.create("https://" + authority + ":" + port.trim()));
    }

    public KubernetesConfig withTokenFile(Path value) {
        return new KubernetesConfig(apiServer, value, caFile, namespaceFile, timeout);
    }

    public KubernetesConfig withCaFile(Path value) {
        return new KubernetesConfig(apiServer, tokenFile, value, namespaceFile, timeout);
    }

    public KubernetesConfig withNamespaceFile(Path value) {
        return new KubernetesConfig(apiServer, tokenFile, caFile, value, timeout);
    }

    public KubernetesConfig withTimeout(Duration value) {
        return new KubernetesConfig(apiServer, tokenFile, caFile, namespaceFile, value);
    }

    /**
     * Reads the pod's namespace from the namespace file.
     *
     * @throws IllegalArgumentException when the file cannot be read or is empty
     */
    String ownNamespace() {
        String namespace;
        try {
            namespace = Files.readString(namespaceFile).strip();
        } catch (IOException e) {
            throw new IllegalArgumentException("the pod's namespace cannot be read from " + namespaceFile + " ("
                    + e.getClass().getSimpleName() + "): outside a pod, name the namespace in the entry, "
                    + "k8s:NAMESPACE/SERVICE", e);
        }
        if (namespace.isEmpty()) {
            throw new IllegalArgumentException("the pod's namespace file " + namespaceFile + " is empty: name the "
                    + "namespace in the entry, k8s:NAMESPACE/SERVICE");
        }
        return namespace;
    }
}
