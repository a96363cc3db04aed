package dev.levee.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class VersionPolicyTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SortedSet<Long> AVAILABLE = new TreeSet<>(List.of(1L, 2L, 3L, 10L));

    private static VersionPolicy parse(String json) throws Exception {
        JsonNode node = JSON.readTree(json);
        return VersionPolicy.fromJson("m", node);
    }

    @Test
    void latestSelectsTheHighestVersions() {
        assertThat(new VersionPolicy.Latest(1).select(AVAILABLE)).containsExactly(10L);
        assertThat(new VersionPolicy.Latest(2).select(AVAILABLE)).containsExactly(3L, 10L);
        assertThat(new VersionPolicy.Latest(9).select(AVAILABLE)).containsExactly(1L, 2L, 3L, 10L);
        assertThat(new VersionPolicy.Latest(1).select(new TreeSet<>())).isEmpty();
    }

    @Test
    void allSelectsEveryVersion() {
        assertThat(new VersionPolicy.All().select(AVAILABLE)).containsExactly(1L, 2L, 3L, 10L);
    }

    @Test
    void specificSelectsListedVersionsEvenWithoutFolder() {
        assertThat(new VersionPolicy.Specific(List.of(3L, 1L)).select(AVAILABLE)).containsExactly(1L, 3L);
        assertThat(new VersionPolicy.Specific(List.of(4L)).select(AVAILABLE)).containsExactly(4L);
    }

    @Test
    void tritonAndShortJsonFormsAreRead() throws Exception {
        assertThat(parse("{\"latest\": {\"num_versions\": 2}}")).isEqualTo(new VersionPolicy.Latest(2));
        assertThat(parse("{\"latest\": 3}")).isEqualTo(new VersionPolicy.Latest(3));
        assertThat(parse("{\"all\": {}}")).isEqualTo(new VersionPolicy.All());
        assertThat(parse("{\"specific\": {\"versions\": [3, 1]}}"))
                .isEqualTo(new VersionPolicy.Specific(List.of(1L, 3L)));
        assertThat(parse("{\"specific\": [1, 3]}")).isEqualTo(new VersionPolicy.Specific(List.of(1L, 3L)));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            {"latest": 0}                        | version_policy latest: 0 (expected: an integer > 0)
            {"latest": {"num_versions": "2"}}    | version_policy latest: "2"
            {"all": {"x": 1}}                    | version_policy all
            {"specific": []}                     | at least one version
            {"specific": [0]}                    | specific: 0 (expected: a version number > 0)
            {"specific": ["1"]}                  | "1" (expected: a version number > 0)
            {"latest": 1, "all": {}}             | version_policy:
            {"newest": 1}                        | unknown policy 'newest'
            "latest"                             | version_policy:
            """)
    void invalidPolicyIsRejectedNamingTheProblem(String json, String expectedMessage) {
        assertThatThrownBy(() -> parse(json))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("config.json of model m")
                .hasMessageContaining(expectedMessage);
    }

    @Test
    void configDefaultsToLatestOne() throws Exception {
        assertThat(ModelConfig.defaults("m", "onnx").versionPolicy()).isEqualTo(VersionPolicy.LATEST_ONE);
        ModelConfig config = ModelConfig.fromJson("m", JSON.readTree("{\"version_policy\": {\"all\": {}}}"));
        assertThat(config.versionPolicy()).isEqualTo(new VersionPolicy.All());
    }
}
