package dev.levee.cli;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node process of {@code levee cluster}: a separate JVM running {@code levee serve} on a fixed
 * loopback port, with its output appended to a log file. A supervisor thread starts it and starts
 * it again whenever it exits, after a backoff that doubles from 1 s up to 30 s and goes back to
 * 1 s once a process has run for a minute. The port stays the same across restarts, so the
 * gateway's node list stays valid.
 */
final class NodeProcess {
    private static final Logger log = LoggerFactory.getLogger(NodeProcess.class);
    private static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    /** Run time after which a process counts as stable and the backoff starts again from 1 s. */
    private static final Duration STABLE_RUN = Duration.ofMinutes(1);

    private final int index;
    private final int port;
    private final List<String> command;
    private final Path logFile;
    private final Consumer<String> console;
    private final Object lock = new Object();
    private final Thread supervisor;

    /** Guarded by {@link #lock}. The current process, or null before the first start. */
    private Process process;
    /** Guarded by {@link #lock}. Set by {@link #terminate()}; no process starts after it. */
    private boolean stopping;
    /** Guarded by {@link #lock}. */
    private int restarts;

    /**
     * @param index the node's number in the cluster, from 1, for messages
     * @param command the command line that starts the node, see {@link #serveCommand}
     * @param console where the pid of each started process and each restart are printed
     */
    NodeProcess(int index, int port, List<String> command, Path logFile, Consumer<String> console) {
        this.index = index;
        this.port = port;
        this.command = List.copyOf(command);
        this.logFile = requireNonNull(logFile, "logFile");
        this.console = requireNonNull(console, "console");
        this.supervisor = Thread.ofPlatform().name("levee-node-" + index + "-supervisor").daemon()
                .unstarted(this::supervise);
    }

    /**
     * Returns the command line of a node on {@code 127.0.0.1:port}: this JVM's java and class path
     * running {@code levee serve}, which drains at once on SIGTERM and exits when this process exits.
     */
    static List<String> serveCommand(int port, Optional<Path> modelRepository) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java,
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseG1GC",
                "-cp", System.getProperty("java.class.path"), Levee.class.getName(),
                "serve", "--host", "127.0.0.1", "--port", Integer.toString(port),
                "--drain-seconds", "0", "--exit-with-parent"));
        modelRepository.ifPresent(folder -> {
            command.add("--model-repository");
            command.add(folder.toAbsolutePath().toString());
        });
        return command;
    }

    int index() {
        return index;
    }

    int port() {
        return port;
    }

    Path logFile() {
        return logFile;
    }

    /** Returns the pid of the current process, or -1 before the first start. */
    long pid() {
        synchronized (lock) {
            return process == null ? -1 : process.pid();
        }
    }

    /** Returns the current process, if one was started. */
    Optional<Process> process() {
        synchronized (lock) {
            return Optional.ofNullable(process);
        }
    }

    int restarts() {
        synchronized (lock) {
            return restarts;
        }
    }

    void start() {
        supervisor.start();
    }

    /**
     * Starts the process, waits for it to exit and starts it again, until {@link #terminate()}. A
     * process that fails to start counts as one that exited at once.
     */
    private void supervise() {
        Duration backoff = FIRST_BACKOFF;
        while (true) {
            Process started;
            synchronized (lock) {
                if (stopping) {
                    return;
                }
                try {
                    started = new ProcessBuilder(command)
                            .redirectErrorStream(true)
                            .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                            .start();
                } catch (IOException e) {
                    started = null;
                    log.warn("[node {}] could not start the node process: {}", index, e.getMessage());
                }
                process = started;
            }
            long startNanos = System.nanoTime();
            int exitCode = -1;
            if (started != null) {
                console.accept("node " + index + ": pid " + started.pid() + ", http://127.0.0.1:" + port
                        + " (log: " + logFile + ")");
                exitCode = waitForExit(started);
            }
            if (System.nanoTime() - startNanos > STABLE_RUN.toNanos()) {
                backoff = FIRST_BACKOFF;
            }
            synchronized (lock) {
                if (stopping) {
                    return;
                }
                console.accept("node " + index + " exited with code " + exitCode + "; restarting in "
                        + backoff.toSeconds() + " s");
                try {
                    // terminate() notifies, so a stop does not wait for the backoff to pass.
                    lock.wait(backoff.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                restarts++;
            }
            Duration doubled = backoff.multipliedBy(2);
            backoff = doubled.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : doubled;
        }
    }

    private static int waitForExit(Process started) {
        try {
            return started.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** Stops restarting the node; a process that runs keeps running. */
    void stopRestarting() {
        synchronized (lock) {
            stopping = true;
            lock.notifyAll();
        }
    }

    /** Stops restarting the node and sends its process SIGTERM, so it drains and exits. */
    void terminate() {
        Process current;
        synchronized (lock) {
            stopping = true;
            lock.notifyAll();
            current = process;
        }
        if (current != null) {
            current.destroy();
        }
    }

    /** Waits up to {@code timeout} for the process to exit; returns whether it has. */
    boolean awaitExit(Duration timeout) throws InterruptedException {
        Optional<Process> current = process();
        if (current.isEmpty()) {
            return true;
        }
        return current.get().waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Sends the process SIGKILL. */
    void kill() {
        process().ifPresent(Process::destroyForcibly);
    }

    /** Waits up to {@code timeout} for the supervisor thread to end after {@link #terminate()}. */
    void awaitSupervisor(Duration timeout) throws InterruptedException {
        supervisor.join(timeout);
    }

    @Override
    public String toString() {
        return "node " + index + " (127.0.0.1:" + port + ", pid " + pid() + ")";
    }
}
