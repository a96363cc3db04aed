package dev.levee.faults;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Separate hosts on one machine: each host is a Linux network namespace joined to the test's own
 * namespace by a veth pair. Host {@code N} has the address 10.213.N.2 and the test's end of its
 * link 10.213.N.1, on a /30 of their own. Tests start node processes inside hosts, then kill or
 * freeze them. Needs root and iproute2; {@link #unavailableReason()} returns why hosts
 * cannot be made, so tests can skip with that message.
 *
 * <p>Traffic goes only to the addresses this class assigned, inside namespaces it created.
 * {@link #close()} kills every process started here and removes every namespace and link made
 * here. Names carry this JVM's pid, and the subnet numbers are claimed with file locks, so two
 * test runs on one machine never share a namespace or an address.
 */
final class NetworkHosts implements AutoCloseable {
    private static final long COMMAND_TIMEOUT_SECONDS = 10;
    private static final String SUBNET_PREFIX = "10.213.";
    private static final int MAX_SUBNET = 250;
    /** Namespaces made by this class in some JVM: {@code lv<pid>-h<index>}. */
    private static final Pattern NAMESPACE_NAME = Pattern.compile("lv(\\d+)-h\\d+");

    /**
     * A host: its namespace, the veth end on the test's side, and the host's address.
     *
     * @param subnet the third byte of the host's addresses, claimed for this JVM
     */
    record Host(String namespace, String link, String address, int subnet) {}

    private final String prefix;
    private final List<Host> hosts = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    private final List<FileChannel> claims = new ArrayList<>();
    private boolean closed;

    /** Removes namespaces left by earlier runs whose JVM is gone, then is ready to create hosts. */
    NetworkHosts() {
        // The full pid keeps link names within the 15 characters Linux allows: lv + 7 digits + o + index.
        this.prefix = "lv" + ProcessHandle.current().pid();
        removeStaleNamespaces();
    }

    /** Returns why hosts cannot be made here, or an empty string when they can. */
    static String unavailableReason() {
        if (!System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux")) {
            return "network namespaces exist on Linux only; these fault tests run as root on Linux in CI";
        }
        if (!Files.isExecutable(Path.of("/usr/sbin/ip")) && !Files.isExecutable(Path.of("/sbin/ip"))
                && !Files.isExecutable(Path.of("/usr/bin/ip"))) {
            return "iproute2's ip command is not installed";
        }
        if (!effectiveUserIsRoot()) {
            return "network namespaces need root; these fault tests run as root in CI";
        }
        String probe = "lv" + ProcessHandle.current().pid() + "-probe";
        try {
            run("ip", "netns", "add", probe);
            run("ip", "netns", "del", probe);
        } catch (IOException e) {
            return "ip netns does not work here: " + e.getMessage();
        }
        return "";
    }

    private static boolean effectiveUserIsRoot() {
        try {
            // The Uid line lists the real, effective, saved and file-system user ids.
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
                if (line.startsWith("Uid:")) {
                    String[] ids = line.substring("Uid:".length()).trim().split("\\s+");
                    return ids.length > 1 && ids[1].equals("0");
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    /**
     * Creates host number {@code index} of this run: namespace, veth pair, addresses, links up. The
     * host's address depends on which subnet was free, not on {@code index}.
     */
    synchronized Host create(int index) throws IOException {
        int subnet = claimSubnet();
        String namespace = prefix + "-h" + index;
        String outside = prefix + "o" + index;
        String inside = prefix + "i" + index;
        String base = SUBNET_PREFIX + subnet + ".";
        run("ip", "netns", "add", namespace);
        Host host = new Host(namespace, outside, base + "2", subnet);
        hosts.add(host);
        run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside);
        run("ip", "link", "set", inside, "netns", namespace);
        run("ip", "addr", "add", base + "1/30", "dev", outside);
        run("ip", "link", "set", outside, "up");
        run("ip", "netns", "exec", namespace, "ip", "addr", "add", base + "2/30", "dev", inside);
        run("ip", "netns", "exec", namespace, "ip", "link", "set", inside, "up");
        run("ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "up");
        return host;
    }

    /**
     * Claims a subnet number that no other run holds and that no address of this namespace uses, by
     * holding a lock on a file named after it until {@link #close()}. The operating system releases
     * the lock when this JVM dies, however it dies. The empty lock files stay in the temp folder.
     */
    private int claimSubnet() throws IOException {
        String addresses = run("ip", "-4", "-o", "addr", "show");
        Path folder = Path.of(System.getProperty("java.io.tmpdir"));
        for (int subnet = 1; subnet <= MAX_SUBNET; subnet++) {
            if (addresses.contains(" " + SUBNET_PREFIX + subnet + ".")) {
                continue;
            }
            FileChannel channel = FileChannel.open(folder.resolve("levee-faults-subnet-" + subnet + ".lock"),
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                channel.close();
                continue;
            }
            claims.add(channel);
            return subnet;
        }
        throw new IOException("no free subnet in " + SUBNET_PREFIX + "1.0 to " + SUBNET_PREFIX + MAX_SUBNET
                + ".0; remove leftover links with addresses in " + SUBNET_PREFIX + "0.0/16");
    }

    /** Starts {@code command} inside the host; its output goes to {@code log}. */
    synchronized Process start(Host host, List<String> command, Path log) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", host.namespace()));
        full.addAll(command);
        // ip netns exec replaces itself with the command, so the process is the command itself and
        // signals sent to it reach the command.
        Process process = new ProcessBuilder(full)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        processes.add(process);
        return process;
    }

    /** Sends {@code signal} (such as {@code STOP} or {@code CONT}) to a process started here. */
    static void signal(Process process, String signal) throws IOException {
        run("kill", "-" + signal, Long.toString(process.pid()));
    }

    /** Kills every process started here, then removes every link and namespace. Safe to call twice. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Process process : processes) {
            // SIGKILL ends a process stopped with SIGSTOP too.
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
        for (FileChannel claim : claims) {
            try {
                claim.close();
            } catch (IOException e) {
                // Closing the channel releases the lock; the JVM's exit would release it too.
            }
        }
    }

    /**
     * Removes namespaces named by this class whose JVM no longer runs, left when a test JVM was
     * killed before its cleanup. Deleting a namespace deletes the veth pair in it.
     */
    private static void removeStaleNamespaces() {
        String list;
        try {
            list = run("ip", "netns", "list");
        } catch (IOException e) {
            return;
        }
        for (String line : list.lines().toList()) {
            String name = line.split(" ", 2)[0];
            Matcher matcher = NAMESPACE_NAME.matcher(name);
            if (matcher.matches() && ProcessHandle.of(Long.parseLong(matcher.group(1))).isEmpty()) {
                quietly("ip", "netns", "del", name);
            }
        }
    }

    private static void quietly(String... command) {
        try {
            run(command);
        } catch (IOException e) {
            // Cleanup goes on with the next namespace. A leftover carries its run's pid in its name,
            // so the next run removes it once that pid is gone.
        }
    }

    private static String run(String... command) throws IOException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        // The commands run here print a few lines at most, which fit in the pipe's buffer, so the
        // process never blocks on output that is read only after it exits.
        try {
            if (!process.waitFor(COMMAND_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish within "
                        + COMMAND_TIMEOUT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            throw new IOException("interrupted while running " + String.join(" ", command), e);
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed with exit code " + process.exitValue()
                    + ": " + output.trim());
        }
        return output;
    }
}
