package dev.levee.server;

import static dev.levee.server.Requests.synthetic;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.levee.batching.BatchScheduler;
import dev.levee.server.TestNode.Reply;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Which versions a node serves under each version policy, where a request without a version goes,
 * and what model metadata and the repository index list.
 */
class VersionPolicyServingTest {
    @TempDir
    Path temp;

    private TestNode node;

    @AfterEach
    void stop() {
        if (node != null) {
            node.close();
        }
    }

    private static List<Long> numbers(String list) {
        return Arrays.stream(list.trim().split(" ")).map(Long::valueOf).toList();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            default latest 1 |                                                        | 1 2 3  | 3
            latest 2         | "version_policy": {"latest": {"num_versions": 2}}      | 1 2 3  | 2 3
            latest 2, short  | "version_policy": {"latest": 2}                        | 1 2 3  | 2 3
            all              | "version_policy": {"all": {}}                          | 1 2 10 | 1 2 10
            specific         | "version_policy": {"specific": {"versions": [1, 3]}}   | 1 2 3  | 1 3
            specific, short  | "version_policy": {"specific": [2]}                    | 1 2 3  | 2
            """)
    void policySelectsServedVersions(String label, String policy, String folders, String served) throws Exception {
        List<Long> available = numbers(folders);
        List<Long> expected = numbers(served);
        long[] versions = available.stream().mapToLong(Long::longValue).toArray();
        TestRepository files = new TestRepository(temp).synthetic("echo", policy == null ? "" : policy, versions);
        node = TestNode.explicit(files.open());

        for (long version : available) {
            Reply reply = node.post("/v2/models/echo/versions/" + version + "/infer", synthetic(version));
            if (expected.contains(version)) {
                assertThat(reply.status()).as("version %d: %s", version, reply.body()).isEqualTo(200);
                assertThat(reply.json().get("model_version").asText()).isEqualTo(Long.toString(version));
                assertThat(reply.json().at("/outputs/0/data/0").floatValue()).isEqualTo((float) version);
            } else {
                assertThat(reply.status()).as("version %d: %s", version, reply.body()).isEqualTo(404);
            }
        }
        String newest = expected.getLast().toString();
        assertThat(node.post("/v2/models/echo/infer", synthetic(1)).json().get("model_version").asText())
                .isEqualTo(newest);
        List<String> metadataVersions = new ArrayList<>();
        node.get("/v2/models/echo").json().get("versions").forEach(v -> metadataVersions.add(v.asText()));
        assertThat(metadataVersions).isEqualTo(expected.stream().map(String::valueOf).toList());
        List<String> indexed = new ArrayList<>();
        for (JsonNode row : node.index()) {
            assertThat(row.get("state").asText()).isEqualTo("READY");
            indexed.add(row.get("version").asText());
        }
        assertThat(indexed).isEqualTo(metadataVersions);
    }

    @Test
    void specificVersionWithoutFolderFailsAndOthersServe() throws Exception {
        TestRepository files = new TestRepository(temp)
                .synthetic("other", "", 1)
                .synthetic("echo", "\"version_policy\": {\"specific\": [1, 4]}", 1);
        node = TestNode.explicit(files.open(), "other");

        Reply load = node.load("echo");

        assertThat(load.status()).isEqualTo(400);
        assertThat(load.json().get("error").asText())
                .contains("failed to load model 'echo'")
                .contains("version 4: model echo has no version folder 4");
        assertThat(node.indexState("echo", "1")).isEqualTo("READY");
        assertThat(node.indexState("echo", "4")).isEqualTo("UNAVAILABLE: model echo has no version folder 4");
        assertThat(node.post("/v2/models/echo/infer", synthetic(1)).json().get("model_version").asText())
                .isEqualTo("1");
        assertThat(node.post("/v2/models/echo/versions/4/infer", synthetic(1)).status()).isEqualTo(404);
    }

    @Test
    void reloadKeepsUnchangedVersionsAndReplacesChangedOnes() throws Exception {
        TestRepository files = new TestRepository(temp).synthetic("echo", "", 1, 2);
        node = TestNode.explicit(files.open());
        BatchScheduler version2 = node.node.registry().find("echo", "2");
        assertThat(node.indexState("echo", "1")).isEqualTo("absent");

        files.synthetic("echo", "\"version_policy\": {\"all\": {}}");
        assertThat(node.load("echo").status()).isEqualTo(200);
        assertThat(node.indexState("echo", "1")).isEqualTo("READY");
        assertThat(node.node.registry().find("echo", "2")).as("unchanged settings keep the version").isSameAs(version2);

        files.synthetic("echo", "\"version_policy\": {\"all\": {}}, \"max_batch_size\": 4");
        assertThat(node.load("echo").status()).isEqualTo(200);
        BatchScheduler reloaded = node.node.registry().find("echo", "2");
        assertThat(reloaded).as("changed settings reload the version").isNotSameAs(version2);
        assertThat(reloaded.model().config().maxBatchSize()).isEqualTo(4);
        assertThat(node.post("/v2/models/echo/versions/2/infer", synthetic(2)).status()).isEqualTo(200);
        assertThat(node.indexState("echo", "2")).isEqualTo("READY");

        files.synthetic("echo", "\"version_policy\": {\"specific\": [1]}, \"max_batch_size\": 4");
        assertThat(node.load("echo").status()).isEqualTo(200);
        assertThat(node.indexState("echo", "2")).isEqualTo("UNAVAILABLE: unloaded");
        assertThat(node.post("/v2/models/echo/infer", synthetic(1)).json().get("model_version").asText())
                .isEqualTo("1");
    }
}
