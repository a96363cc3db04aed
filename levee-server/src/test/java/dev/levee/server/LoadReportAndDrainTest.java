package dev.levee.server;

import static dev.levee.server.Requests.SYNTHETIC_INFER;
import static dev.levee.server.Requests.synthetic;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.levee.core.NodeLoad;
import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelConfig;
import dev.levee.runtime.SyntheticModel;
import dev.levee.server.TestNode.Reply;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The load report that REST responses carry, and a node's drain on shutdown. */
class LoadReportAndDrainTest {
    private static final long WAIT_SECONDS = 30;

    private final Gate gate = new Gate();
    private TestNode node;

    private void start() throws IOException {
        ModelConfig config = ModelConfig.defaults("synthetic", "synthetic")
                .withMaxBatchSize(1)
                .withMaxQueueDelay(Duration.ofMillis(1))
                .withTargetQueueDelay(Duration.ofSeconds(10));
        SyntheticModel model = new SyntheticModel("synthetic", "1", gate, null);
        node = TestNode.start(List.of(new LoadedModel(config, "1", model)));
    }

    @AfterEach
    void stop() {
        gate.openForever();
        if (node != null) {
            node.close();
        }
    }

    private static NodeLoad load(Reply reply) {
        return NodeLoad.parse(reply.header(NodeLoad.HEADER))
                .orElseThrow(() -> new AssertionError("no valid " + NodeLoad.HEADER + " header in " + reply.raw()));
    }

    @Test
    void responsesReportQueuedAndRunningRequests() throws Exception {
        start();
        assertThat(load(node.get("/v2/health/ready"))).isEqualTo(new NodeLoad(0, true));
        CompletableFuture<Reply> running = node.postAsync(SYNTHETIC_INFER, synthetic(1));
        gate.awaitStarted(1);
        CompletableFuture<Reply> queued = node.postAsync(SYNTHETIC_INFER, synthetic(2));
        awaitTrue(() -> node.node.registry().pendingRequests() == 2, "two requests pending");

        assertThat(load(node.get("/v2/health/ready")).requests()).isEqualTo(2);
        Reply rejected = node.post("/v2/models/synthetic/infer", "{");
        assertThat(rejected.status()).isEqualTo(400);
        assertThat(load(rejected).requests()).as("an error response carries the report too").isEqualTo(2);

        gate.open(1);
        Reply first = running.get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(first.status()).isEqualTo(200);
        assertThat(load(first).requests()).as("the answered request no longer counts").isLessThanOrEqualTo(1);
        gate.open(1);
        Reply second = queued.get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(load(second)).isEqualTo(new NodeLoad(0, true));
    }

    @Test
    void drainReportsNotReadyThenFinishesQueuedWork() throws Exception {
        start();
        CompletableFuture<Reply> running = node.postAsync(SYNTHETIC_INFER, synthetic(1));
        gate.awaitStarted(1);
        Thread drain = Thread.ofPlatform().name("test-drain").start(() -> node.node.drain(Duration.ofMillis(300)));
        awaitTrue(() -> !node.node.state().ready(), "readiness goes false");

        Reply readiness = node.get("/v2/health/ready");
        assertThat(readiness.status()).isEqualTo(503);
        assertThat(load(readiness)).isEqualTo(new NodeLoad(1, false));
        assertThat(node.node.state().accepting()).as("still admitting during the grace period").isTrue();
        CompletableFuture<Reply> admittedDuringGrace = node.postAsync(SYNTHETIC_INFER, synthetic(2));
        awaitTrue(() -> node.node.registry().pendingRequests() == 2, "request admitted during the grace period");

        awaitTrue(() -> !node.node.state().accepting(), "grace period ends");
        Thread.sleep(100);
        assertThat(drain.isAlive()).as("the drain waits for queued and running requests").isTrue();
        gate.openForever();
        assertThat(running.get(WAIT_SECONDS, TimeUnit.SECONDS).status()).isEqualTo(200);
        Reply late = admittedDuringGrace.get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(late.status()).as(late.body()).isEqualTo(200);
        assertThat(late.json().at("/outputs/0/data/0").floatValue()).isEqualTo(2f);
        drain.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
        assertThat(drain.isAlive()).as("drain finished").isFalse();
        assertThatThrownBy(() -> new Socket("127.0.0.1", node.node.port()).close())
                .as("the port is closed after the drain")
                .isInstanceOf(IOException.class);
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + " did not happen within " + WAIT_SECONDS + " s");
            }
            Thread.sleep(5);
        }
    }
}
