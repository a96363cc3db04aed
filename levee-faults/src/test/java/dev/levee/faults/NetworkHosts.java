package dev.levee.faults;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Separate hosts on one machine: each host is a Linux network namespace joined to the test's own
 * namespace by a veth pair, with its own address in 10.213.0.0/16. Tests start node processes
 * inside hosts, then kill, freeze or cut them off. Needs root and iproute2; {@link #unavailableReason()}
 * says why not, so tests can skip with that message.
 *
 * <p>Traffic goes only to the addresses this class assigned, inside namespaces it created, and
 * {@link #close()} removes every namespace and link it made.
 */
final class NetworkHosts implements AutoCloseable {
    private static final long COMMAND_TIMEOUT_SECONDS = 10;

    /** A host: its namespace, the veth end on the test's side, and the host's address. */
    record Host(String namespace, String link, String address) {}

    private final String prefix;
    private final List<Host> hosts = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();

    NetworkHosts() {
        // Names carry this process's pid so parallel runs on one machine never share a namespace.
        this.prefix = "lv" + ProcessHandle.current().pid() % 100_000;
    }

    /** Why hosts cannot be made here, or empty when they can. */
    static String unavailableReason() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "network namespaces need root; these fault tests run as root in CI";
        }
        if (!Files.isExecutable(Path.of("/usr/sbin/ip")) && !Files.isExecutable(Path.of("/sbin/ip"))) {
            return "iproute2's ip command is not installed";
        }
        try {
            run("ip", "netns", "list");
        } catch (IOException e) {
            return "ip netns does not work here: " + e.getMessage();
        }
        return "";
    }

    /** Creates host number {@code index} (0 to 250): namespace, veth pair, addresses, links up. */
    Host create(int index) throws IOException {
        String namespace = prefix + "-h" + index;
        String outside = prefix + "o" + index;
        String inside = prefix + "i" + index;
        String subnet = "10.213." + index + ".";
        run("ip", "netns", "add", namespace);
        Host host = new Host(namespace, outside, subnet + "2");
        hosts.add(host);
        run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside);
        run("ip", "link", "set", inside, "netns", namespace);
        run("ip", "addr", "add", subnet + "1/30", "dev", outside);
        run("ip", "link", "set", outside, "up");
        run("ip", "netns", "exec", namespace, "ip", "addr", "add", subnet + "2/30", "dev", inside);
        run("ip", "netns", "exec", namespace, "ip", "link", "set", inside, "up");
        run("ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "up");
        return host;
    }

    /** Starts {@code command} inside the host; its output goes to {@code log}. */
    Process start(Host host, List<String> command, Path log) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", host.namespace()));
        full.addAll(command);
        Process process = new ProcessBuilder(full)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        processes.add(process);
        return process;
    }

    /** Cuts the host off the network, as a pulled cable would; {@link #reconnect} undoes it. */
    void disconnect(Host host) throws IOException {
        run("ip", "link", "set", host.link(), "down");
    }

    void reconnect(Host host) throws IOException {
        run("ip", "link", "set", host.link(), "up");
    }

    @Override
    public void close() {
        for (Process process : processes) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
        for (Process process : processes) {
            try {
                process.waitFor(COMMAND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Host host : hosts) {
            quietly("ip", "link", "del", host.link());
            quietly("ip", "netns", "del", host.namespace());
        }
    }

    private static void quietly(String... command) {
        try {
            run(command);
        } catch (IOException e) {
            // Cleanup goes on with the next namespace; a leftover is named with this run's pid.
        }
    }

    private static String run(String... command) throws IOException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            if (!process.waitFor(COMMAND_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish within "
                        + COMMAND_TIMEOUT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + String.join(" ", command), e);
        }
        String output = new String(process.getInputStream().readAllBytes());
        if (process.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed with exit code " + process.exitValue()
                    + ": " + output.trim());
        }
        return output;
    }
}
