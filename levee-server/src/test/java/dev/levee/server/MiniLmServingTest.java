package dev.levee.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.levee.runtime.ModelRepository;
import dev.levee.server.TestNode.Reply;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The built-in minilm model served by a real node, checked over REST. */
class MiniLmServingTest {
    private static final String INFER = "/v2/models/minilm/infer";
    private static final int DIMENSIONS = 384;

    private static TestNode node;

    @BeforeAll
    static void start() throws Exception {
        // A burst of 64 requests is more than the default target queue delay admits on a slow
        // machine; this class checks batching correctness, so admission is given room.
        node = TestNode.start(List.of(ModelRepository.loadMiniLm(
                ModelRepository.miniLmConfig().withTargetQueueDelay(java.time.Duration.ofSeconds(30)))));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    @Test
    void embeddingsCarryMeaning() {
        float[][] e = embed("meaning", "A man is eating food.", "A man is eating a piece of bread.",
                "A girl is carrying a baby.");
        assertThat(cosine(e[0], e[1])).isGreaterThan(cosine(e[0], e[2]) + 0.3);
    }

    @Test
    void concurrentClientsEachGetTheirOwnEmbeddings() throws Exception {
        int clients = 64;
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            texts.add("Client " + i + " asks about " + (i % 2 == 0 ? "exam results" : "concert tickets")
                    + " number " + (i * 7919 % 1000) + ".");
        }
        List<float[]> alone = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            alone.add(embed("alone-" + i, texts.get(i))[0]);
        }
        List<CompletableFuture<Reply>> replies = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            replies.add(node.postAsync(INFER, body("together-" + i, texts.get(i))));
        }
        for (int i = 0; i < clients; i++) {
            Reply reply = replies.get(i).get(60, TimeUnit.SECONDS);
            assertThat(reply.status()).as(reply.body()).isEqualTo(200);
            assertThat(reply.json().get("id").asText()).isEqualTo("together-" + i);
            float[] together = vectors(reply.json())[0];
            for (int d = 0; d < DIMENSIONS; d++) {
                assertThat(together[d]).as("client %d dimension %d", i, d).isCloseTo(alone.get(i)[d], within(1e-5f));
            }
        }
        String metrics = node.get("/metrics").body();
        assertThat(batchesOfSeveralRows(metrics)).as("batches holding more than one row").isPositive();
    }

    /** Batches of more than one row: the total batch count minus those at or below the le=1 bound. */
    private static long batchesOfSeveralRows(String metrics) {
        long atMostOne = counter(metrics, "levee_batch_size_bucket{model=\"minilm\",le=\"1.0\"}");
        long total = counter(metrics, "levee_batch_size_count{model=\"minilm\"}");
        return total - atMostOne;
    }

    private static long counter(String metrics, String series) {
        for (String line : metrics.split("\n")) {
            if (line.startsWith(series + " ")) {
                return (long) Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        throw new AssertionError("metric " + series + " is missing");
    }

    private static float[][] embed(String id, String... texts) {
        Reply reply = node.post(INFER, body(id, texts));
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        return vectors(reply.json());
    }

    private static String body(String id, String... texts) {
        ObjectNode request = TestNode.JSON.createObjectNode();
        request.put("id", id);
        ObjectNode input = request.putArray("inputs").addObject();
        input.put("name", "text");
        input.put("datatype", "BYTES");
        input.putArray("shape").add(texts.length);
        ArrayNode data = input.putArray("data");
        for (String text : texts) {
            data.add(text);
        }
        return request.toString();
    }

    private static float[][] vectors(JsonNode response) {
        JsonNode output = response.at("/outputs/0");
        int rows = output.at("/shape/0").asInt();
        JsonNode data = output.get("data");
        float[][] vectors = new float[rows][DIMENSIONS];
        for (int r = 0; r < rows; r++) {
            for (int d = 0; d < DIMENSIONS; d++) {
                vectors[r][d] = data.get(r * DIMENSIONS + d).floatValue();
            }
        }
        return vectors;
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
