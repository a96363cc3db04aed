package dev.levee.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TextEmbeddingModelTest {
    private static LoadedModel minilm;

    @BeforeAll
    static void load() throws Exception {
        minilm = ModelRepository.loadMiniLm(ModelRepository.miniLmConfig());
    }

    @AfterAll
    static void close() {
        minilm.model().close();
    }

    private static TextEmbeddingModel model() {
        return (TextEmbeddingModel) minilm.model();
    }

    @Test
    void embeddingsAreUnitLength384Vectors() throws Exception {
        float[][] embeddings = model().embed(List.of("Exam results are out today."));
        assertThat(embeddings[0]).hasSize(384);
        assertThat(dot(embeddings[0], embeddings[0])).isCloseTo(1.0, within(1e-5));
    }

    @Test
    void similarSentencesAreCloserThanUnrelatedOnes() throws Exception {
        float[][] e = model().embed(List.of(
                "A man is eating food.", "A man is eating a piece of bread.", "A girl is carrying a baby."));
        double related = dot(e[0], e[1]);
        double unrelated = dot(e[0], e[2]);
        assertThat(related).isGreaterThan(unrelated + 0.3);
    }

    @Test
    void paddedBatchMatchesSingleSentenceRuns() throws Exception {
        List<String> texts = List.of("Short.", "A considerably longer sentence that forces padding of the others.");
        float[][] batched = model().embed(texts);
        for (int i = 0; i < texts.size(); i++) {
            float[] single = model().embed(List.of(texts.get(i)))[0];
            for (int d = 0; d < single.length; d++) {
                assertThat(batched[i][d]).isCloseTo(single[d], within(1e-5f));
            }
        }
    }

    @Test
    void maxBatchSizeZeroTurnsBatchingOff() throws Exception {
        LoadedModel unbatched = ModelRepository.loadMiniLm(ModelRepository.miniLmConfig().withMaxBatchSize(0));
        try {
            assertThat(unbatched.model().batching()).isFalse();
            assertThat(minilm.model().batching()).isTrue();
        } finally {
            unbatched.model().close();
        }
    }

    private static double dot(float[] a, float[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += (double) a[i] * b[i];
        }
        return sum;
    }
}
