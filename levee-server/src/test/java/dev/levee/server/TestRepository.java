package dev.levee.server;

import dev.levee.runtime.ModelRepository;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A model repository that a test builds in a temporary folder: synthetic models, copies of the
 * breast-cancer classifier, and broken model files.
 */
final class TestRepository {
    /** The breast-cancer classifier's ONNX file, which the runtime module's build puts on the classpath. */
    private static final String BREAST_CANCER_ONNX = "builtin/breast_cancer/model.onnx";

    final Path root;

    TestRepository(Path root) {
        this.root = root;
    }

    /**
     * Adds a synthetic model (FP32 INPUT0 echoed as OUTPUT0) with the given version folders and
     * {@code extraConfig}, more fields of config.json such as {@code "version_policy": {"all": {}}}.
     */
    TestRepository synthetic(String model, String extraConfig, long... versions) {
        String config = "{\"platform\": \"synthetic\", \"max_queue_delay_ms\": 1"
                + (extraConfig.isEmpty() ? "" : ", " + extraConfig) + "}";
        write(model + "/config.json", config);
        for (long version : versions) {
            addVersion(model, version);
        }
        return this;
    }

    /** Adds the version folder {@code version} of {@code model}, empty, as a synthetic model needs. */
    TestRepository addVersion(String model, long version) {
        try {
            Files.createDirectories(root.resolve(model).resolve(Long.toString(version)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    /** Adds version {@code version} of {@code model} as a copy of the breast-cancer classifier. */
    TestRepository breastCancer(String model, long version) {
        try (InputStream onnx = ModelRepository.class.getClassLoader().getResourceAsStream(BREAST_CANCER_ONNX)) {
            if (onnx == null) {
                throw new IllegalStateException(BREAST_CANCER_ONNX + " is not on the classpath");
            }
            Path file = root.resolve(model).resolve(Long.toString(version)).resolve("model.onnx");
            Files.createDirectories(file.getParent());
            Files.write(file, onnx.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    /** Adds version {@code version} of {@code model} whose model.onnx is not an ONNX graph. */
    TestRepository corruptOnnx(String model, long version) {
        write(model + "/" + version + "/model.onnx", "this is not an ONNX graph");
        return this;
    }

    TestRepository write(String relativePath, String content) {
        try {
            Path file = root.resolve(relativePath);
            Files.createDirectories(file.getParent());
            Files.writeString(file, content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    ModelRepository open() {
        try {
            return ModelRepository.open(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
