package dev.levee.bench;

import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelRepository;
import dev.levee.runtime.TextEmbeddingModel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Measures the in-process compute ceiling of the built-in minilm model: how many sentences per
 * second {@link TextEmbeddingModel#embed} turns out at batch 1 and batch 32 when called in a loop
 * on one thread, with no HTTP, queue or batching around it. A serving node is judged against these
 * numbers.
 *
 * <p>Each batch size is warmed up, then measured for a fixed time. Results go to stdout as
 * {@code key=value} lines, for example {@code ceiling_batch32_sps=612.4}; logs go to stderr.
 *
 * <p>Usage: {@code java -jar levee-bench.jar [--seconds S] [--warmup-seconds W]}, both defaulting
 * to 10 and 5.
 */
public final class CeilingBenchmark {
    private static final int[] BATCH_SIZES = {1, 4, 8, 16, 32};
    /** Distinct sentences cycled through, so that no two calls close together embed the same text. */
    private static final int SENTENCE_POOL_SIZE = 8192;

    private final TextEmbeddingModel model;
    private final List<String> sentences;
    private int nextSentence;

    private CeilingBenchmark(TextEmbeddingModel model, List<String> sentences) {
        this.model = model;
        this.sentences = sentences;
    }

    public static void main(String[] args) throws Exception {
        BenchmarkArguments arguments;
        try {
            arguments = BenchmarkArguments.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("levee-bench: " + e.getMessage());
            System.exit(2);
            return;
        }
        LoadedModel loaded = ModelRepository.loadMiniLm(ModelRepository.miniLmConfig());
        try {
            CeilingBenchmark benchmark = new CeilingBenchmark((TextEmbeddingModel) loaded.model(),
                    sentences(SENTENCE_POOL_SIZE));
            System.out.println("ceiling_processors=" + Runtime.getRuntime().availableProcessors());
            System.out.println("ceiling_seconds=" + arguments.measure().toSeconds());
            for (int batchSize : BATCH_SIZES) {
                benchmark.run(batchSize, arguments.warmup());
                double sentencesPerSecond = benchmark.run(batchSize, arguments.measure());
                System.out.printf(Locale.ROOT, "ceiling_batch%d_sps=%.1f%n", batchSize, sentencesPerSecond);
            }
        } finally {
            loaded.model().close();
        }
    }

    /**
     * Builds short distinct sentences from the same template as the wrk script in bench/, so that
     * the ceiling and the served requests tokenize to about the same length.
     */
    static List<String> sentences(int count) {
        List<String> sentences = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            sentences.add("Sentence " + i + " from client " + (i % 64) + ": the parcel ships on time.");
        }
        return sentences;
    }

    /**
     * Calls {@code embed} with {@code batchSize} sentences until {@code duration} has passed and
     * returns the sentences embedded per second. The last call may end after the deadline, so the
     * rate is taken over the time actually spent.
     */
    private double run(int batchSize, Duration duration) throws Exception {
        long start = System.nanoTime();
        long deadline = start + duration.toNanos();
        long embedded = 0;
        long now = start;
        while (now < deadline) {
            float[][] embeddings = model.embed(nextBatch(batchSize));
            embedded += embeddings.length;
            now = System.nanoTime();
        }
        double seconds = (now - start) / 1e9;
        return seconds > 0 ? embedded / seconds : 0;
    }

    private List<String> nextBatch(int batchSize) {
        List<String> batch = new ArrayList<>(batchSize);
        for (int i = 0; i < batchSize; i++) {
            batch.add(sentences.get(nextSentence));
            nextSentence = (nextSentence + 1) % sentences.size();
        }
        return batch;
    }
}
