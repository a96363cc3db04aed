package dev.levee.cli;

import dev.levee.gateway.GatewayOptions;
import dev.levee.gateway.LeveeGateway;
import dev.levee.gateway.NodeAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code levee cluster}: a cluster on one machine. It starts node processes, separate JVMs running
 * {@code levee serve}, and a gateway in this process in front of them. It restarts a node process
 * that exits, and on SIGTERM or Ctrl-C stops the gateway and then every node.
 */
@Command(name = "cluster", mixinStandardHelpOptions = true,
        description = "Starts node processes (separate JVMs) on free loopback ports and a gateway in front of "
                + "them; restarts a node that exits, and stops everything on SIGTERM or Ctrl-C.")
final class ClusterCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--nodes", required = true, paramLabel = "N",
            description = "Number of node processes to start.")
    int nodes;

    @Option(names = "--port", defaultValue = "8000",
            description = "TCP port of the gateway (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--host", defaultValue = "0.0.0.0",
            description = "Address the gateway listens on; nodes always listen on 127.0.0.1 "
                    + "(default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--model-repository", paramLabel = "DIR",
            description = "Folder with one subfolder per model, served by every node; without it the nodes serve "
                    + "the built-in models.")
    Path modelRepository;

    @Option(names = "--log-dir", paramLabel = "DIR",
            description = "Folder for the nodes' logs, node-1.log and so on (default: a new temporary folder).")
    Path logFolder;

    @Option(names = "--ready-timeout-s", defaultValue = "300",
            description = "Seconds to wait for every node to be ready before giving up (default: ${DEFAULT-VALUE}).")
    long readyTimeoutSeconds;

    @Option(names = "--stop-timeout-s", defaultValue = "30",
            description = "On stop, seconds the nodes get to drain and exit after SIGTERM before they get SIGKILL "
                    + "(default: ${DEFAULT-VALUE}).")
    long stopTimeoutSeconds;

    @Override
    public Integer call() throws Exception {
        if (nodes < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--nodes: " + nodes + " (expected: >= 1)");
        }
        if (modelRepository != null && !Files.isDirectory(modelRepository)) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--model-repository: " + modelRepository + " is not a directory");
        }

        Path logs = logFolder != null ? logFolder : Files.createTempDirectory("levee-cluster-");
        System.out.println("levee cluster: starting " + nodes + " nodes; logs in " + logs);
        LocalCluster cluster = LocalCluster.start(nodes, Optional.ofNullable(modelRepository), logs,
                Duration.ofSeconds(stopTimeoutSeconds), System.out);

        AtomicReference<LeveeGateway> gateway = new AtomicReference<>();
        CountDownLatch stopped = new CountDownLatch(1);
        // Registered before the wait for readiness, so Ctrl-C during the start stops the nodes too.
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("levee-cluster-shutdown").unstarted(() -> {
            cluster.stopRestarting();
            LeveeGateway started = gateway.get();
            if (started != null) {
                started.close();
            }
            try {
                cluster.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            stopped.countDown();
        }));

        try {
            cluster.awaitReady(Duration.ofSeconds(readyTimeoutSeconds));
            List<NodeAddress> addresses = cluster.addresses();
            gateway.set(LeveeGateway.start(GatewayOptions.builder().host(host).port(port).build(), () -> addresses));
        } catch (IOException e) {
            System.err.println("levee cluster: " + e.getMessage());
            // Exiting runs the shutdown hook, which stops the nodes.
            return 1;
        }
        System.out.println("levee cluster: " + nodes + " nodes ready; gateway at http://" + host + ":"
                + gateway.get().port());
        stopped.await();
        return 0;
    }
}
