package dev.levee.server;

import static dev.levee.server.Requests.synthetic;
import static org.assertj.core.api.Assertions.assertThat;

import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelRepository;
import dev.levee.runtime.SyntheticModel;
import dev.levee.server.TestNode.Reply;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Model and version states over REST, against a real node with explicit model control: what
 * inference, model readiness and node readiness return while a version loads, serves, unloads and
 * is gone.
 */
class ModelStatesTest {
    private static final long WAIT_SECONDS = 30;

    @TempDir
    Path temp;

    private TestNode node;

    @AfterEach
    void stop() {
        if (node != null) {
            node.close();
        }
    }

    private static String infer(String model) {
        return "/v2/models/" + model + "/infer";
    }

    private static String infer(String model, long version) {
        return "/v2/models/" + model + "/versions/" + version + "/infer";
    }

    private TestNode start(ModelRepository repository, ModelControl.VersionLoader loader, String... startupModels)
            throws Exception {
        node = TestNode.start(NodeOptions.defaults(), repository, ModelControlMode.EXPLICIT, List.of(startupModels),
                loader);
        return node;
    }

    private static void assertRetryLater(Reply reply, String expectedMessage) {
        assertThat(reply.status()).as(reply.body()).isEqualTo(503);
        assertThat(reply.header("Retry-After")).matches("[1-9][0-9]*");
        assertThat(reply.json().get("error").asText()).contains(expectedMessage);
    }

    @Test
    void loadingVersionGets503WhileOlderOneServes() throws Exception {
        TestRepository files = new TestRepository(temp).synthetic("echo", "", 1);
        ModelRepository repository = files.open();
        LoadGate gate = new LoadGate(repository);
        start(repository, gate);
        files.addVersion("echo", 2);
        gate.hold("echo", 2);

        CompletableFuture<Reply> load = node.loadAsync("echo");
        node.awaitIndexState("echo", "2", "LOADING");

        assertRetryLater(node.post(infer("echo", 2), synthetic(1)), "model 'echo' version '2' is loading");
        Reply served = node.post(infer("echo"), synthetic(1));
        assertThat(served.status()).isEqualTo(200);
        assertThat(served.json().get("model_version").asText()).isEqualTo("1");
        Reply versionReady = node.get("/v2/models/echo/versions/2/ready");
        assertThat(versionReady.status()).isEqualTo(503);
        assertThat(versionReady.json().get("ready").asBoolean()).isFalse();
        assertThat(versionReady.json().get("state").asText()).isEqualTo("LOADING");
        assertThat(node.get("/v2/models/echo/ready").status()).isEqualTo(200);
        assertThat(node.get("/v2/health/ready").status()).isEqualTo(200);

        gate.open();
        Reply loaded = load.get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(loaded.status()).as(loaded.body()).isEqualTo(200);
        assertThat(node.indexState("echo", "2")).isEqualTo("READY");
        assertThat(node.indexState("echo", "1")).isEqualTo("UNAVAILABLE: unloaded");
        assertThat(node.post(infer("echo"), synthetic(1)).json().get("model_version").asText()).isEqualTo("2");
        Reply old = node.post(infer("echo", 1), synthetic(1));
        assertThat(old.status()).isEqualTo(404);
        assertThat(old.json().get("error").asText()).contains("is not loaded");
        assertThat(node.get("/v2/models/echo").json().get("versions").toString()).isEqualTo("[\"2\"]");
    }

    @Test
    void firstLoadKeepsNodeNotReadyUntilReady() throws Exception {
        TestRepository files = new TestRepository(temp).synthetic("a", "", 1).synthetic("b", "", 1);
        ModelRepository repository = files.open();
        LoadGate gate = new LoadGate(repository).hold("b", 1);
        start(repository, gate, "a");
        assertThat(node.get("/v2/health/ready").status()).isEqualTo(200);
        assertThat(node.indexState("b", "")).isEqualTo("UNAVAILABLE: not loaded");

        CompletableFuture<Reply> load = node.loadAsync("b");
        node.awaitIndexState("b", "1", "LOADING");

        Reply nodeReady = node.get("/v2/health/ready");
        assertThat(nodeReady.status()).isEqualTo(503);
        assertThat(nodeReady.json().get("ready").asBoolean()).isFalse();
        Reply modelReady = node.get("/v2/models/b/ready");
        assertThat(modelReady.status()).isEqualTo(503);
        assertThat(modelReady.json().get("state").asText()).isEqualTo("LOADING");
        assertRetryLater(node.post(infer("b"), synthetic(1)), "model 'b' is loading");
        assertThat(node.post(infer("a"), synthetic(1)).status()).isEqualTo(200);

        gate.open();
        assertThat(load.get(WAIT_SECONDS, TimeUnit.SECONDS).status()).isEqualTo(200);
        assertThat(node.get("/v2/health/ready").status()).isEqualTo(200);
        assertThat(node.get("/v2/models/b/ready").json().get("ready").asBoolean()).isTrue();
        assertThat(node.post(infer("b"), synthetic(1)).status()).isEqualTo(200);
    }

    @Test
    void nodeWithoutLoadedModelIsNotReady() throws Exception {
        TestRepository files = new TestRepository(temp);
        ModelRepository repository = files.open();
        start(repository, repository::loadVersion);
        assertThat(node.get("/v2/health/ready").status()).isEqualTo(503);
        assertThat(node.get("/v2/health/live").status()).isEqualTo(200);

        files.synthetic("late", "", 1);
        assertThat(node.load("late").status()).isEqualTo(200);
        assertThat(node.get("/v2/health/ready").status()).isEqualTo(200);

        assertThat(node.unload("late").status()).isEqualTo(200);
        assertThat(node.get("/v2/health/ready").status()).isEqualTo(503);
    }

    @Test
    void unloadingModelDrainsAndRejectsNewRequests() throws Exception {
        TestRepository files = new TestRepository(temp).synthetic("echo", "\"max_batch_size\": 1", 1);
        Gate gate = new Gate();
        // Each version is a synthetic model whose batches wait at the gate.
        ModelControl.VersionLoader gated = (config, version) -> new LoadedModel(config, Long.toString(version),
                new SyntheticModel(config.name(), Long.toString(version), gate, null));
        start(files.open(), gated);
        CompletableFuture<Reply> running = node.postAsync(infer("echo"), synthetic(1));
        gate.awaitStarted(1);
        CompletableFuture<Reply> queued = node.postAsync(infer("echo"), synthetic(2));
        awaitQueueDepth("echo", 1);

        CompletableFuture<Reply> unload = node.unloadAsync("echo");
        node.awaitIndexState("echo", "1", "UNLOADING");

        assertRetryLater(node.post(infer("echo"), synthetic(3)), "model 'echo' is unloading");
        assertRetryLater(node.post(infer("echo", 1), synthetic(3)), "model 'echo' version '1' is unloading");
        Reply modelReady = node.get("/v2/models/echo/ready");
        assertThat(modelReady.status()).isEqualTo(503);
        assertThat(modelReady.json().get("state").asText()).isEqualTo("UNLOADING");
        assertThat(unload).isNotDone();

        gate.openForever();
        assertThat(running.get(WAIT_SECONDS, TimeUnit.SECONDS).json().at("/outputs/0/data/0").floatValue())
                .isEqualTo(1f);
        assertThat(queued.get(WAIT_SECONDS, TimeUnit.SECONDS).json().at("/outputs/0/data/0").floatValue())
                .isEqualTo(2f);
        assertThat(unload.get(WAIT_SECONDS, TimeUnit.SECONDS).status()).isEqualTo(200);
        assertThat(node.indexState("echo", "1")).isEqualTo("UNAVAILABLE: unloaded");
        Reply gone = node.post(infer("echo"), synthetic(4));
        assertThat(gone.status()).isEqualTo(404);
        assertThat(gone.json().get("error").asText()).contains("model 'echo' is not loaded");
        assertThat(node.get("/v2/models/echo/ready").json().get("state").asText()).isEqualTo("UNAVAILABLE");
        assertThat(node.get("/v2/health/ready").status()).isEqualTo(503);
    }

    @Test
    void unknownModelOrVersionGets404() throws Exception {
        TestRepository files = new TestRepository(temp).synthetic("echo", "", 1);
        ModelRepository repository = files.open();
        start(repository, repository::loadVersion);
        assertThat(node.post(infer("nope"), synthetic(1)).status()).isEqualTo(404);
        assertThat(node.get("/v2/models/nope").status()).isEqualTo(404);
        assertThat(node.get("/v2/models/nope/ready").status()).isEqualTo(404);
        assertThat(node.post(infer("echo", 9), synthetic(1)).status()).isEqualTo(404);
        assertThat(node.get("/v2/models/echo/versions/9/ready").status()).isEqualTo(404);
        assertThat(node.post(infer("echo"), synthetic(1)).status()).isEqualTo(200);
    }

    private void awaitQueueDepth(String model, int depth) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (node.node.registry().find(model, "").queueDepth() < depth) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("queue of " + model + " did not reach depth " + depth);
            }
            Thread.sleep(5);
        }
    }
}
