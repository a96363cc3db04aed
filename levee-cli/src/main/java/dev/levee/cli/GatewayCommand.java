package dev.levee.cli;

import dev.levee.gateway.GatewayOptions;
import dev.levee.gateway.HostResolver;
import dev.levee.gateway.KubernetesConfig;
import dev.levee.gateway.LeveeGateway;
import dev.levee.gateway.NodeSource;
import java.net.URI;
import java.nio.file.Path;
import java.security.Security;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code levee gateway}: serves the v2 REST and gRPC APIs in front of many nodes until SIGTERM or
 * Ctrl-C, then drains ({@link LeveeGateway#drain(Duration)}) and exits.
 */
@Command(name = "gateway", mixinStandardHelpOptions = true,
        description = "Serves the v2 REST and gRPC APIs in front of many nodes: routes each request to a ready node "
                + "with the model and the least load, and retries failed attempts on another node within the deadline.")
final class GatewayCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--nodes", required = true, paramLabel = "LIST",
            description = {"Nodes, separated by commas, of any of these kinds: host:port or [ipv6]:port; "
                    + "dns:NAME[:PORT] for every A and AAAA record of NAME (port " + NodeSource.DEFAULT_PORT
                    + " when none is given); k8s:[NAMESPACE/]SERVICE[:PORT] for the ready endpoints of the "
                    + "EndpointSlices of a Kubernetes Service. NAMESPACE defaults to the gateway pod's own. PORT is "
                    + "a number or a port name of the slices; without it the port named http is used, else the "
                    + "only port. dns: and k8s: entries are resolved again every --discovery-interval-ms."})
    String nodes;

    @Option(names = "--port", defaultValue = "8000",
            description = "TCP port of the gateway's REST and gRPC APIs; 0 picks a free port "
                    + "(default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--host", defaultValue = "0.0.0.0",
            description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--check-interval-ms", defaultValue = "500",
            description = "Milliseconds between readiness checks of each node (default: ${DEFAULT-VALUE}).")
    long checkIntervalMillis;

    @Option(names = "--eject-after", defaultValue = "3",
            description = "Consecutive failed attempts or checks after which a node is ejected until a "
                    + "readiness check passes (default: ${DEFAULT-VALUE}).")
    int ejectAfter;

    @Option(names = "--ramp-up-ms", defaultValue = "3000",
            description = "Milliseconds over which a node that becomes ready grows to its full share of "
                    + "requests (default: ${DEFAULT-VALUE}).")
    long rampUpMillis;

    @Option(names = "--default-timeout-ms", defaultValue = "30000",
            description = "Deadline of a request that sets none with Levee-Timeout-Ms or the timeout "
                    + "parameter (default: ${DEFAULT-VALUE}).")
    long defaultTimeoutMillis;

    @Option(names = "--attempt-timeout-ms", defaultValue = "5000",
            description = "Maximum milliseconds one attempt at a node may take before the request moves to "
                    + "another node (default: ${DEFAULT-VALUE}).")
    long attemptTimeoutMillis;

    @Option(names = "--max-attempts", defaultValue = "3",
            description = "Attempts per request, the first one included (default: ${DEFAULT-VALUE}).")
    int maxAttempts;

    @Option(names = "--retry-budget-ratio", defaultValue = "0.2",
            description = "Retries allowed per request over the last 10 s (default: ${DEFAULT-VALUE}).")
    double retryBudgetRatio;

    @Option(names = "--retry-budget-floor", defaultValue = "5",
            description = "Retries per second allowed whatever the request count (default: ${DEFAULT-VALUE}).")
    int retryBudgetFloor;

    @Option(names = "--discovery-interval-ms", defaultValue = "5000",
            description = "Milliseconds between resolutions of dns: and k8s: entries (default: ${DEFAULT-VALUE}).")
    long discoveryIntervalMillis;

    @Option(names = "--kubernetes-api", paramLabel = "URL",
            description = "Kubernetes API server for k8s: entries, https:// or http:// (default: inside a pod, "
                    + "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT). Over http no token is sent, "
                    + "as through kubectl proxy.")
    URI kubernetesApi;

    @Option(names = "--kubernetes-token-file", paramLabel = "FILE",
            description = "Bearer token for the Kubernetes API, read again for every request "
                    + "(default: the pod's service account token, ${DEFAULT-VALUE}).")
    Path kubernetesTokenFile = KubernetesConfig.SERVICE_ACCOUNT.resolve("token");

    @Option(names = "--kubernetes-ca-file", paramLabel = "FILE",
            description = "PEM file of the CAs that the Kubernetes API server's certificate must be signed by "
                    + "(default: the pod's service account CA, ${DEFAULT-VALUE}).")
    Path kubernetesCaFile = KubernetesConfig.SERVICE_ACCOUNT.resolve("ca.crt");

    @Option(names = "--connections-per-node", defaultValue = "128",
            description = "Maximum HTTP/1.1 connections to one node, split between the event loops (default: ${DEFAULT-VALUE}).")
    int connectionsPerNode;

    @Option(names = "--max-body-bytes", defaultValue = "67108864",
            description = "Maximum request body size in bytes; larger ones get 413 (default: ${DEFAULT-VALUE}).")
    long maxBodyBytes;

    @Option(names = "--drain-seconds", defaultValue = "5",
            description = "On SIGTERM or Ctrl-C, seconds to report not ready while still forwarding requests, "
                    + "so load balancers stop sending first; then the gateway stops listening and closes once "
                    + "the requests in flight have their responses (default: ${DEFAULT-VALUE}).")
    long drainSeconds;

    @Override
    public Integer call() throws Exception {
        if (drainSeconds < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--drain-seconds: " + drainSeconds + " (expected: >= 0)");
        }
        GatewayOptions options;
        NodeSource source;
        try {
            options = GatewayOptions.builder()
                    .host(host)
                    .port(port)
                    .checkInterval(Duration.ofMillis(checkIntervalMillis))
                    .ejectAfterFailures(ejectAfter)
                    .rampUp(Duration.ofMillis(rampUpMillis))
                    .defaultTimeout(Duration.ofMillis(defaultTimeoutMillis))
                    .attemptTimeout(Duration.ofMillis(attemptTimeoutMillis))
                    .maxAttempts(maxAttempts)
                    .retryBudget(retryBudgetRatio, retryBudgetFloor)
                    .discoveryInterval(Duration.ofMillis(discoveryIntervalMillis))
                    .connectionsPerNode(connectionsPerNode)
                    .maxBodyBytes(maxBodyBytes)
                    .build();
            source = NodeSource.parse(nodes, HostResolver.SYSTEM, this::kubernetesConfig);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
        }
        limitDnsCache(options.discoveryInterval());
        LeveeGateway gateway = LeveeGateway.start(options, source);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("levee-gateway-shutdown").unstarted(() -> {
            gateway.drain(Duration.ofSeconds(drainSeconds));
            stopped.countDown();
        }));
        stopped.await();
        return 0;
    }

    /** Returns the Kubernetes API settings; called only when a k8s: entry needs them. */
    private KubernetesConfig kubernetesConfig() {
        KubernetesConfig config = kubernetesApi == null
                ? KubernetesConfig.inCluster(System.getenv())
                : KubernetesConfig.of(kubernetesApi);
        return config.withTokenFile(kubernetesTokenFile).withCaFile(kubernetesCaFile);
    }

    /**
     * Keeps the JDK's cache of DNS results no longer than one discovery interval, so that a node
     * that leaves a DNS name leaves the gateway at the next resolution. The JDK caches results for
     * 30 s by default (JDK 25's java.security). A TTL set in java.security or with
     * -Dsun.net.inetaddr.ttl is kept.
     */
    static void limitDnsCache(Duration discoveryInterval) {
        if (Security.getProperty("networkaddress.cache.ttl") == null
                && System.getProperty("sun.net.inetaddr.ttl") == null) {
            Security.setProperty("networkaddress.cache.ttl", Long.toString(discoveryInterval.toSeconds()));
        }
    }
}
