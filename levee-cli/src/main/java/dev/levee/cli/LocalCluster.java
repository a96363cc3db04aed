package dev.levee.cli;

import dev.levee.gateway.NodeAddress;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The node processes of {@code levee cluster}: starts them on free loopback ports, waits until
 * they are ready, and stops them with SIGTERM and, past a bounded wait, SIGKILL.
 */
final class LocalCluster implements AutoCloseable {
    private static final Duration POLL_INTERVAL = Duration.ofMillis(200);
    private static final Duration KILL_WAIT = Duration.ofSeconds(5);
    private static final int LOG_TAIL_LINES = 20;

    private final List<NodeProcess> nodes;
    private final Duration stopTimeout;
    private final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(1))
            .build();

    private LocalCluster(List<NodeProcess> nodes, Duration stopTimeout) {
        this.nodes = List.copyOf(nodes);
        this.stopTimeout = stopTimeout;
    }

    /**
     * Starts {@code count} node processes, each on a free loopback port with its log in
     * {@code logFolder}. {@code console} gets each process's pid and each restart.
     */
    static LocalCluster start(int count, Optional<Path> modelRepository, Path logFolder, Duration stopTimeout,
            PrintStream console) throws IOException {
        Files.createDirectories(logFolder);
        List<NodeProcess> nodes = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            int port = freePort();
            nodes.add(new NodeProcess(i, port, NodeProcess.serveCommand(port, modelRepository),
                    logFolder.resolve("node-" + i + ".log"), console::println));
        }
        nodes.forEach(NodeProcess::start);
        return new LocalCluster(nodes, stopTimeout);
    }

    /**
     * Returns a port that was free on the loopback address a moment ago. Another process may take
     * it before the node binds it; the node then fails to start and is restarted on the same port.
     */
    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    List<NodeProcess> nodes() {
        return nodes;
    }

    List<NodeAddress> addresses() {
        return nodes.stream().map(node -> new NodeAddress("127.0.0.1", node.port())).toList();
    }

    /**
     * Waits until every node's {@code /v2/health/ready} returns 200, for at most {@code timeout}.
     * Throws with the end of each unready node's log when the time runs out.
     */
    void awaitReady(Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<NodeProcess> waiting = new ArrayList<>(nodes);
        while (!waiting.isEmpty()) {
            waiting.removeIf(this::ready);
            if (waiting.isEmpty()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                StringBuilder message = new StringBuilder("nodes not ready within " + timeout.toSeconds() + " s:");
                for (NodeProcess node : waiting) {
                    message.append("\n").append(node).append(", last lines of ").append(node.logFile()).append(":\n")
                            .append(logTail(node.logFile()));
                }
                throw new IOException(message.toString());
            }
            Thread.sleep(POLL_INTERVAL);
        }
    }

    /** Returns whether the node's readiness endpoint returns 200 now. */
    boolean ready(NodeProcess node) {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port() + "/v2/health/ready"))
                .timeout(Duration.ofSeconds(1))
                .GET()
                .build();
        try {
            return client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static String logTail(Path logFile) {
        try {
            List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
        } catch (IOException e) {
            return "(log not readable: " + e.getMessage() + ")";
        }
    }

    /**
     * Stops restarting nodes that exit. A terminal's Ctrl-C reaches the node processes too, since
     * they share the terminal's process group, so this comes first on shutdown.
     */
    void stopRestarting() {
        nodes.forEach(NodeProcess::stopRestarting);
    }

    /**
     * Stops every node: SIGTERM to all, a wait of up to the stop timeout for them to drain and exit,
     * then SIGKILL to those still running and a further wait of up to 5 s.
     */
    @Override
    public void close() throws InterruptedException {
        nodes.forEach(NodeProcess::terminate);
        long deadline = System.nanoTime() + stopTimeout.toNanos();
        for (NodeProcess node : nodes) {
            long left = Math.max(0, deadline - System.nanoTime());
            if (!node.awaitExit(Duration.ofNanos(left))) {
                node.kill();
            }
        }
        for (NodeProcess node : nodes) {
            node.awaitExit(KILL_WAIT);
            node.awaitSupervisor(Duration.ofMillis(TimeUnit.SECONDS.toMillis(1)));
        }
    }
}
