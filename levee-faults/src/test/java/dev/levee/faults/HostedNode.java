package dev.levee.faults;

import static java.util.Objects.requireNonNull;

import dev.levee.faults.NetworkHosts.Host;
import dev.levee.gateway.NodeAddress;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A node process in a host: a separate JVM running {@code levee serve} from the built levee.jar,
 * listening on 0.0.0.0 inside the host's namespace and reached at the host's address. The test
 * sends it signals: SIGKILL, SIGTERM, SIGSTOP and SIGCONT.
 */
final class HostedNode {
    static final int PORT = 8000;
    private static final Duration PROBE_TIMEOUT = Duration.ofMillis(500);
    private static final long PROBE_INTERVAL_MILLIS = 20;

    private final String name;
    private final NetworkHosts hosts;
    private final Host host;
    private final List<String> command;
    private final Path log;
    private final HttpClient probes = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(PROBE_TIMEOUT)
            .build();
    /** The current process, or null before the first start; replaced by each start. */
    private Process process;
    private boolean frozen;

    HostedNode(String name, NetworkHosts hosts, Host host, List<String> command, Path log) {
        this.name = requireNonNull(name, "name");
        this.hosts = requireNonNull(hosts, "hosts");
        this.host = requireNonNull(host, "host");
        this.command = List.copyOf(command);
        this.log = requireNonNull(log, "log");
    }

    /**
     * Returns the command line of a node serving {@code repository} on port {@link #PORT}: the
     * JDK that runs the tests (Maven's JAVA_HOME) running {@code levee.jar serve}. The node exits
     * when the test JVM exits, even when that JVM is killed.
     */
    static List<String> serveCommand(Path jar, Path repository, long drainSeconds) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ArrayList<>(List.of(java,
                // A small heap, serial GC and the C1 compiler only, so that four node JVMs start
                // fast and leave CPU to the traffic on a machine with few cores.
                "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "--enable-native-access=ALL-UNNAMED",
                "-jar", jar.toAbsolutePath().toString(),
                "serve", "--host", "0.0.0.0", "--port", Integer.toString(PORT),
                "--model-repository", repository.toAbsolutePath().toString(),
                "--drain-seconds", Long.toString(drainSeconds),
                "--exit-with-parent"));
    }

    String name() {
        return name;
    }

    NodeAddress address() {
        return new NodeAddress(host.address(), PORT);
    }

    /** Returns the node's own infer URL for the synthetic model, which bypasses the gateway. */
    URI inferUrl() {
        return URI.create("http://" + address() + "/v2/models/synthetic/infer");
    }

    /** Starts a new process; the previous one must have exited. */
    void start() throws IOException {
        if (alive()) {
            throw new IllegalStateException(name + " still runs as pid " + process.pid());
        }
        process = hosts.start(host, command, log);
        frozen = false;
    }

    boolean alive() {
        return process != null && process.isAlive();
    }

    long pid() {
        return process == null ? -1 : process.pid();
    }

    /**
     * Waits up to {@code timeout} until {@code /v2/health/ready} returns 200, probing every 20 ms;
     * returns whether it did. Returns false at once when the process has exited.
     */
    boolean awaitReady(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + address() + "/v2/health/ready"))
                .timeout(PROBE_TIMEOUT)
                .GET()
                .build();
        while (System.nanoTime() < deadline) {
            if (!alive()) {
                return false;
            }
            try {
                if (probes.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return true;
                }
            } catch (IOException e) {
                // Not listening yet: probe again.
            }
            Thread.sleep(PROBE_INTERVAL_MILLIS);
        }
        return false;
    }

    /** Sends SIGKILL and waits up to 10 s for the process to end. */
    void kill() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Sends SIGTERM, so the node drains and exits; does not wait. */
    void terminate() {
        if (process != null) {
            process.destroy();
        }
    }

    /** Waits up to {@code timeout} for the process to exit; returns whether it has. */
    boolean awaitExit(Duration timeout) throws InterruptedException {
        return process == null || process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Returns the exit code of the process, which must have exited. */
    int exitCode() {
        return process.exitValue();
    }

    /** Sends SIGSTOP: the JVM stops running while its sockets stay open, as a stalled host's would. */
    void freeze() throws IOException {
        NetworkHosts.signal(process, "STOP");
        frozen = true;
    }

    /** Sends SIGCONT when the node is frozen. */
    void thaw() throws IOException {
        if (frozen && alive()) {
            NetworkHosts.signal(process, "CONT");
        }
        frozen = false;
    }

    @Override
    public String toString() {
        return name + " (" + address() + ", pid " + pid() + ")";
    }
}
