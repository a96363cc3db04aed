package dev.levee.faults;

import static dev.levee.faults.Observed.millis;
import static dev.levee.faults.Observed.nanos;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.levee.faults.AttemptSampler.Sample;
import dev.levee.faults.OpenLoopTraffic.Outcome;
import dev.levee.gateway.GatewayOptions;
import dev.levee.gateway.LeveeGateway;
import dev.levee.gateway.NodeAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A gateway in this JVM in front of three node processes, each a {@code levee serve} JVM in a
 * network namespace of its own, under steady open-loop traffic while one node is killed, frozen,
 * slowed or stopped, or a fourth node joins.
 *
 * <p>The nodes serve a synthetic model that sleeps 20 ms per batch of up to 4, so each node's
 * capacity is about 200 requests a second; the traffic is 100 requests a second, a sixth of the
 * three nodes' capacity and a quarter of two nodes'. Every request carries a 2 s deadline. The
 * nodes start once for the class; each test starts its own gateway, and {@link #restore()} brings
 * the three nodes back to serving and stops the fourth. {@link #stopHosts()} kills every process
 * and removes every namespace, whatever the tests did.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NodeFaultsTest {
    private static final Logger log = LoggerFactory.getLogger(NodeFaultsTest.class);
    private static final Path JAR = Path.of(System.getProperty("levee.jar", "../levee-cli/target/levee.jar"));
    private static final double RATE = 100;
    private static final Duration DEADLINE = Duration.ofSeconds(2);
    private static final Duration SAMPLE_INTERVAL = Duration.ofMillis(50);
    /** Time a node process may take to start and report ready on a busy machine. */
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    private static final long DRAIN_SECONDS = 1;
    private static final int WARM_UP_REQUESTS = 120;
    /** Start of the span in which the baseline latency and shares are measured, after warm-up. */
    private static final Duration SETTLED = Duration.ofMillis(500);

    /** The model repository and the nodes' logs, kept when a test fails. */
    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path folder;

    /** Why the tests cannot run here, or an empty string when they can. */
    private static String skipReason = "";
    private static NetworkHosts hosts;
    private static Thread cleanupOnExit;
    /** The three nodes that serve from the start. */
    private static final List<HostedNode> nodes = new ArrayList<>();
    /** A fourth node, started only by the test of a joining node. */
    private static HostedNode joining;

    private LeveeGateway gateway;
    private DelayingProxy proxy;

    @BeforeAll
    static void startNodes() throws Exception {
        skipReason = NetworkHosts.unavailableReason();
        if (skipReason.isEmpty() && !Files.isRegularFile(JAR)) {
            skipReason = JAR.toAbsolutePath().normalize() + " does not exist; ./mvnw verify builds it before these tests";
        }
        if (!skipReason.isEmpty()) {
            log.info("Skipping the fault tests: {}", skipReason);
            return;
        }
        hosts = new NetworkHosts();
        log.info("Node logs are in {}", folder);
        // Cleans up when the test JVM is stopped with SIGTERM or Ctrl-C; SIGKILL leaves namespaces,
        // which the next run removes, but no node, since nodes exit with their parent.
        cleanupOnExit = Thread.ofPlatform().name("network-hosts-cleanup").unstarted(hosts::close);
        Runtime.getRuntime().addShutdownHook(cleanupOnExit);

        Path repository = Files.createDirectories(folder.resolve("models/synthetic/1")).getParent().getParent();
        Files.writeString(repository.resolve("synthetic/config.json"), """
                {"platform": "synthetic", "max_batch_size": 4, "max_queue_delay_ms": 1,
                 "parameters": {"service_time_ms": "20"}}
                """);
        List<String> command = HostedNode.serveCommand(JAR, repository, DRAIN_SECONDS);
        for (int i = 1; i <= 4; i++) {
            HostedNode node = new HostedNode("node " + i, hosts, hosts.create(i), command,
                    folder.resolve("node-" + i + ".log"));
            if (i <= 3) {
                nodes.add(node);
            } else {
                joining = node;
            }
        }
        for (HostedNode node : nodes) {
            node.start();
        }
        for (HostedNode node : nodes) {
            assertThat(node.awaitReady(START_TIMEOUT)).as("%s is ready", node).isTrue();
        }
        warmUp(nodes);
    }

    /**
     * Sends each node requests of its own before a gateway routes to it. A node's first requests
     * take up to a second while its classes load and compile, which is longer than the gateway's
     * 500 ms attempt timeout, and this class tests faults, not cold starts.
     */
    private static void warmUp(List<HostedNode> cold) throws InterruptedException {
        List<Thread> threads = new ArrayList<>();
        for (HostedNode node : cold) {
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    OpenLoopTraffic.warmUp(node.inferUrl(), WARM_UP_REQUESTS, 4, DEADLINE);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        for (Thread thread : threads) {
            thread.join(Duration.ofSeconds(30));
        }
    }

    /** Skips each test, rather than the class, so that the reason shows in every test report. */
    @BeforeEach
    void checkHosts() {
        assumeTrue(skipReason.isEmpty(), () -> "skipped: " + skipReason);
    }

    @AfterEach
    void restore() throws Exception {
        if (hosts == null) {
            return;
        }
        if (gateway != null) {
            gateway.close();
            gateway = null;
        }
        if (proxy != null) {
            proxy.close();
            proxy = null;
        }
        if (joining.alive()) {
            joining.kill();
        }
        List<HostedNode> restarted = new ArrayList<>();
        for (HostedNode node : nodes) {
            node.thaw();
            if (!node.alive()) {
                node.start();
                restarted.add(node);
            }
        }
        for (HostedNode node : nodes) {
            assertThat(node.awaitReady(START_TIMEOUT)).as("%s is ready again", node).isTrue();
        }
        warmUp(restarted);
    }

    @AfterAll
    static void stopHosts() {
        if (hosts != null) {
            hosts.close();
            Runtime.getRuntime().removeShutdownHook(cleanupOnExit);
        }
        nodes.clear();
    }

    @Test
    void killedNodeCostsNoErrors() throws Exception {
        HostedNode victim = nodes.get(0);
        startGateway(addresses(nodes));
        Observed run = runTraffic(Duration.ofSeconds(6), Duration.ofSeconds(2), victim::kill);

        String name = victim.address().toString();
        double shareBefore = run.okShare(name, nanos(SETTLED), run.faultNanos());
        long shift = run.lastAttemptEndAfterFaultNanos(name);
        report("SIGKILL", run, String.format("share before %.2f, last attempt ended %.0f ms after the kill",
                shareBefore, millis(shift)));
        assertThat(run.errors()).as("requests without a 200").isEmpty();
        assertThat(shareBefore).as("the killed node's share before the kill").isGreaterThan(0.15);
        assertThat(millis(shift)).as("ms from the kill to the end of the killed node's last attempt")
                .isLessThan(1000);
    }

    @Test
    void frozenNodeDelaysRequestsBriefly() throws Exception {
        HostedNode victim = nodes.get(1);
        startGateway(addresses(nodes));
        Observed run = runTraffic(Duration.ofSeconds(7), Duration.ofSeconds(2), victim::freeze);
        victim.thaw();

        String name = victim.address().toString();
        double baseline = run.medianWindowP99Millis(nanos(SETTLED), run.faultNanos());
        double normal = normalP99Millis(baseline);
        double after = run.p99Millis(run.faultNanos() + nanos(Duration.ofSeconds(3)), run.endNanos() + 1);
        long recovery = run.recoveryNanos(normal);
        List<Outcome> withBudgetLeft = run.errors().stream()
                .filter(error -> error.status() != 504 || error.latencyNanos() < DEADLINE.toNanos())
                .toList();
        report("SIGSTOP", run, String.format("p99 before %.1f ms (median of 500 ms windows), from 3 s after "
                + "the stop %.1f ms (normal: up to %.1f ms), p99 of all later requests normal from %.0f ms after "
                + "the stop, last 500 ms window above normal ended %.0f ms after it, last attempt ended %.0f ms "
                + "after it", baseline, after, normal, millis(recovery), millis(run.lastSlowWindowEndNanos(normal)),
                millis(run.lastAttemptEndAfterFaultNanos(name))));
        assertThat(withBudgetLeft).as("requests that failed while their deadline left time").isEmpty();
        assertThat(after).as("p99 in ms from 3 s after the stop").isLessThanOrEqualTo(normal);
        assertThat(millis(recovery)).as("ms after the stop until p99 is normal").isLessThanOrEqualTo(3000);
    }

    @Test
    void delayedLinkLowersNodeShare() throws Exception {
        HostedNode slowed = nodes.get(2);
        proxy = new DelayingProxy(slowed.address());
        startGateway(List.of(nodes.get(0).address(), nodes.get(1).address(), proxy.address()));
        Observed run = runTraffic(Duration.ofSeconds(8), Duration.ofSeconds(3),
                () -> proxy.delay(Duration.ofMillis(200)));

        String name = proxy.address().toString();
        double before = run.okShare(name, nanos(SETTLED), run.faultNanos());
        double after = run.okShare(name, run.faultNanos() + nanos(Duration.ofSeconds(1)), run.endNanos());
        report("200 ms link delay", run, String.format("share of the slowed node before %.2f, from 1 s after the "
                + "delay %.2f", before, after));
        assertThat(run.errors()).as("requests without a 200").isEmpty();
        assertThat(before).as("the slowed node's share before the delay").isGreaterThan(0.15);
        assertThat(after).as("the slowed node's share with the delay").isLessThan(before / 2);
    }

    @Test
    void joiningNodeGetsTrafficSoon() throws Exception {
        List<NodeAddress> addresses = new ArrayList<>(addresses(nodes));
        addresses.add(joining.address());
        startGateway(addresses);
        Observed run = runTraffic(Duration.ofSeconds(9), Duration.ofSeconds(1), () -> {
            joining.start();
            assertThat(joining.awaitReady(Duration.ofSeconds(6))).as("%s is ready", joining).isTrue();
        });

        String name = joining.address().toString();
        OptionalLong firstOk = AttemptSampler.firstOkNanos(run.samples(), name);
        assertThat(firstOk).as("the joining node got a request").isPresent();
        long delay = firstOk.getAsLong() - run.trafficStartNanos() - run.faultNanos();
        double shareLast = run.okShare(name, run.endNanos() - nanos(Duration.ofSeconds(2)), run.endNanos());
        report("join", run, String.format("first 200 from the new node %.0f ms after it was ready, its share in "
                + "the last 2 s %.2f", millis(delay), shareLast));
        assertThat(run.errors()).as("requests without a 200").isEmpty();
        assertThat(millis(delay)).as("ms from ready to the new node's first request").isLessThan(2000);
    }

    @Test
    void terminatedNodeCostsNoErrors() throws Exception {
        HostedNode victim = nodes.get(0);
        startGateway(addresses(nodes));
        Observed run = runTraffic(Duration.ofSeconds(6), Duration.ofSeconds(2), victim::terminate);

        String name = victim.address().toString();
        report("SIGTERM", run, String.format("last attempt ended %.0f ms after the signal",
                millis(run.lastAttemptEndAfterFaultNanos(name))));
        assertThat(run.errors()).as("requests without a 200").isEmpty();
        assertThat(victim.awaitExit(Duration.ofSeconds(10))).as("the node exits after its drain").isTrue();
        // A JVM that ends on SIGTERM after its shutdown hooks exits with 128 + 15; SIGKILL would give 137.
        assertThat(victim.exitCode()).isEqualTo(143);
    }

    /** A fault that the test injects while the traffic runs. */
    @FunctionalInterface
    private interface Fault {
        void inject() throws Exception;
    }

    /**
     * Sends traffic for {@code duration} through the gateway, injects {@code fault} at
     * {@code faultAt}, and returns every request's outcome with the gateway's attempt counters.
     */
    private Observed runTraffic(Duration duration, Duration faultAt, Fault fault) throws Exception {
        try (AttemptSampler sampler = AttemptSampler.start(gateway.metrics()::scrape, SAMPLE_INTERVAL);
                OpenLoopTraffic traffic = OpenLoopTraffic.start(gatewayUrl(), RATE, duration, DEADLINE)) {
            long injectAt = traffic.startNanos() + faultAt.toNanos();
            long wait;
            while ((wait = injectAt - System.nanoTime()) > 0) {
                LockSupport.parkNanos(wait);
            }
            fault.inject();
            long faultNanos = traffic.elapsedNanos();
            List<Outcome> outcomes = traffic.await();
            List<Sample> samples = sampler.stop();
            return new Observed(faultNanos, outcomes, samples, traffic.startNanos());
        }
    }

    /**
     * Starts a gateway in front of {@code addresses} with checks every 100 ms and attempts of at
     * most 500 ms, and waits until it routes to the three nodes that serve from the start.
     */
    private void startGateway(List<NodeAddress> addresses) throws Exception {
        List<NodeAddress> fixed = List.copyOf(addresses);
        gateway = LeveeGateway.start(GatewayOptions.builder()
                .host("127.0.0.1")
                .port(0)
                .eventLoops(1)
                .checkInterval(Duration.ofMillis(100))
                .checkTimeout(Duration.ofMillis(500))
                .connectTimeout(Duration.ofMillis(500))
                .attemptTimeout(Duration.ofMillis(500))
                .build(), () -> fixed);
        awaitTrue(() -> servingNodes() == nodes.size(), "the gateway routes to " + nodes.size() + " nodes");
        OpenLoopTraffic.warmUp(gatewayUrl(), WARM_UP_REQUESTS / 2, 4, DEADLINE);
    }

    private URI gatewayUrl() {
        return URI.create("http://127.0.0.1:" + gateway.port() + "/v2/models/synthetic/infer");
    }

    private long servingNodes() {
        return gateway.metrics().scrape().lines()
                .filter(line -> line.startsWith("levee_gateway_node_serving{") && line.endsWith(" 1.0"))
                .count();
    }

    private static List<NodeAddress> addresses(List<HostedNode> hosted) {
        return hosted.stream().map(HostedNode::address).toList();
    }

    /**
     * Returns the p99 latency that counts as normal: twice the baseline or 50 ms above it,
     * whichever is more, since on a shared machine a single pause moves a p99 of a few hundred
     * requests by tens of milliseconds.
     */
    private static double normalP99Millis(double baselineMillis) {
        return Math.max(2 * baselineMillis, baselineMillis + 50);
    }

    private static void report(String scenario, Observed run, String details) {
        List<Outcome> errors = run.errors();
        log.info("{}: {} requests, {} without a 200{}, fault at {} ms; {}", scenario, run.outcomes().size(),
                errors.size(), errors.isEmpty() ? "" : " (first: " + errors.getFirst() + ")",
                Math.round(millis(run.faultNanos())), details);
    }

    private static void awaitTrue(BooleanSupplier condition, String description) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(description + " did not happen within 10 s");
            }
            Thread.sleep(20);
        }
    }
}
