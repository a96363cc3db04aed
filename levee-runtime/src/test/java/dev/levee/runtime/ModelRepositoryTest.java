package dev.levee.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.levee.core.ErrorKind;
import dev.levee.core.InferenceException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ModelRepositoryTest {
    @TempDir
    Path temp;

    private Path root;
    private ModelRepository repository;

    @BeforeEach
    void createRepository() throws IOException {
        root = Files.createDirectory(temp.resolve("models"));
        Files.createDirectories(root.resolve("echo/1"));
        Files.writeString(root.resolve("echo/config.json"), "{\"platform\": \"synthetic\"}");
        Files.createDirectories(temp.resolve("outside/1"));
        repository = ModelRepository.open(root);
    }

    private static InferenceException rejection(Runnable call) {
        InferenceException error = catchThrowableOfType(InferenceException.class, call::run);
        assertThat(error).as("the call should have failed").isNotNull();
        return error;
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ".", "..", "../outside", "echo/1", "echo\\1", "/etc", "\0", "echo\0",
            "%2e%2e", "%2F", "..%2Foutside", ".hidden", "a b", "-dash", "caf\u00e9"})
    void invalidNameGetsTheSameMessage(String name) {
        InferenceException error = rejection(() -> repository.modelFolder(name));
        assertThat(error.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT);
        assertThat(error.getMessage()).isEqualTo(ModelRepository.INVALID_NAME_MESSAGE);
    }

    @Test
    void nameLongerThan255CharactersIsInvalid() {
        InferenceException error = rejection(() -> repository.modelFolder("a".repeat(256)));
        assertThat(error.getMessage()).isEqualTo(ModelRepository.INVALID_NAME_MESSAGE);
        assertThat(ModelRepository.isValidName("a".repeat(255))).isTrue();
    }

    @Test
    void outsideLinkGetsSameMessageWithOrWithoutTarget() throws IOException {
        Files.createSymbolicLink(root.resolve("escape"), temp.resolve("outside"));
        Files.createSymbolicLink(root.resolve("dangling"), temp.resolve("no-such-folder"));
        Files.createSymbolicLink(root.resolve("up"), Path.of(".."));

        for (String name : List.of("escape", "dangling", "up")) {
            InferenceException error = rejection(() -> repository.modelFolder(name));
            assertThat(error.kind()).as(name).isEqualTo(ErrorKind.INVALID_ARGUMENT);
            assertThat(error.getMessage()).as(name).isEqualTo(ModelRepository.INVALID_NAME_MESSAGE);
        }
    }

    @Test
    void linkToAFolderInsideIsAccepted() throws IOException {
        Files.createSymbolicLink(root.resolve("alias"), root.resolve("echo"));
        assertThat(repository.modelFolder("alias")).isEqualTo(root.toRealPath().resolve("echo"));
    }

    @Test
    void missingModelOrPlainFileIsNotFound() throws IOException {
        Files.writeString(root.resolve("notes.txt"), "not a model");
        for (String name : List.of("absent", "notes.txt")) {
            InferenceException error = rejection(() -> repository.modelFolder(name));
            assertThat(error.kind()).as(name).isEqualTo(ErrorKind.NOT_FOUND);
            assertThat(error.getMessage()).as(name).contains("'" + name + "'");
        }
    }

    @Test
    void modelNamesListValidFoldersOnly() throws IOException {
        Files.createDirectories(root.resolve("b_model"));
        Files.createDirectories(root.resolve(".git"));
        Files.createDirectories(root.resolve("with space"));
        Files.writeString(root.resolve("README.md"), "# models");

        assertThat(repository.modelNames()).containsExactly("b_model", "echo");
        assertThat(repository.ignoredFolders()).containsExactly("with space");
    }

    @Test
    void versionsAreNumberedFoldersWithoutLeadingZero() throws IOException {
        for (String folder : List.of("2", "10", "03", "0", "v4", "5x")) {
            Files.createDirectories(root.resolve("echo").resolve(folder));
        }
        Files.writeString(root.resolve("echo/7"), "a file, not a folder");
        assertThat(repository.versions(repository.readConfig("echo"))).containsExactly(1L, 2L, 10L);
    }

    @Test
    void syntheticModelWithoutVersionFoldersHasVersionOne() throws IOException {
        Files.createDirectories(root.resolve("bare"));
        Files.writeString(root.resolve("bare/config.json"), "{\"platform\": \"synthetic\"}");
        ModelConfig config = repository.readConfig("bare");
        assertThat(repository.versions(config)).containsExactly(1L);
        LoadedModel loaded = repository.loadVersion(config, 1);
        assertThat(loaded.version()).isEqualTo("1");
        assertThat(loaded.model().metadata().name()).isEqualTo("bare");
        assertThatThrownBy(() -> repository.loadVersion(config, 2))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("model bare has no version folder 2");
    }

    @Test
    void syntheticVersionWithoutFolderFailsWhenOthersHaveOne() throws IOException {
        ModelConfig config = repository.readConfig("echo");
        assertThat(repository.loadVersion(config, 1).version()).isEqualTo("1");
        assertThatThrownBy(() -> repository.loadVersion(config, 4))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("model echo has no version folder 4");
    }

    @Test
    void readConfigAppliesVersionPolicyAndAdjustment() throws IOException {
        Files.writeString(root.resolve("echo/config.json"),
                "{\"platform\": \"synthetic\", \"version_policy\": {\"latest\": {\"num_versions\": 2}}}");
        ModelRepository adjusted = ModelRepository.open(root, c -> c.withMaxQueueSize(7));
        ModelConfig config = adjusted.readConfig("echo");
        assertThat(config.versionPolicy()).isEqualTo(new VersionPolicy.Latest(2));
        assertThat(config.maxQueueSize()).isEqualTo(7);
    }

    @Test
    void brokenOnnxVersionFailsWithReason() throws IOException {
        Files.createDirectories(root.resolve("broken/1"));
        Files.write(root.resolve("broken/1/model.onnx"), new byte[] {1, 2, 3, 4, 5});
        ModelConfig config = repository.readConfig("broken");

        assertThatThrownBy(() -> repository.loadVersion(config, 1))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("model broken version 1 failed to load");
        assertThatThrownBy(() -> repository.loadVersion(config, 2))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("model broken has no version folder 2");
    }

    @Test
    void invalidConfigFailsNamingTheField() throws IOException {
        Files.writeString(root.resolve("echo/config.json"), "{\"version_policy\": {\"newest\": 1}}");
        assertThatThrownBy(() -> repository.readConfig("echo"))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("unknown policy 'newest'");
    }
}
