package dev.levee.runtime;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The rule that picks the numbered version folders of a model that a node serves, read from the {@code version_policy}
 * field of {@code config.json}. The JSON forms are Triton's: {@code {"latest": {"num_versions": 2}}},
 * {@code {"all": {}}} and {@code {"specific": {"versions": [1, 3]}}}, and the short forms
 * {@code {"latest": 2}} and {@code {"specific": [1, 3]}}.
 */
public sealed interface VersionPolicy {

    /** Triton's default: the newest version only. */
    VersionPolicy LATEST_ONE = new Latest(1);

    /** Returns the versions to serve out of the numbered folders {@code available}. */
    SortedSet<Long> select(SortedSet<Long> available);

    /** The {@code count} highest numbered versions. */
    record Latest(int count) implements VersionPolicy {
        public Latest {
            if (count <= 0) {
                throw new IllegalArgumentException("version_policy latest: " + count + " (expected: > 0)");
            }
        }

        @Override
        public SortedSet<Long> select(SortedSet<Long> available) {
            Iterator<Long> newestFirst = new TreeSet<>(available).descendingIterator();
            TreeSet<Long> selected = new TreeSet<>();
            while (selected.size() < count && newestFirst.hasNext()) {
                selected.add(newestFirst.next());
            }
            return Collections.unmodifiableSortedSet(selected);
        }
    }

    /** Every numbered version. */
    record All() implements VersionPolicy {
        @Override
        public SortedSet<Long> select(SortedSet<Long> available) {
            return Collections.unmodifiableSortedSet(new TreeSet<>(available));
        }
    }

    /**
     * Exactly the listed versions. A listed version without a folder is still selected, so that
     * loading it fails with a reason instead of being skipped without a word.
     */
    record Specific(List<Long> versions) implements VersionPolicy {
        public Specific {
            versions = List.copyOf(new TreeSet<>(requireNonNull(versions, "versions")));
            if (versions.isEmpty()) {
                throw new IllegalArgumentException("version_policy specific: [] (expected: at least one version)");
            }
            for (long version : versions) {
                if (version <= 0) {
                    throw new IllegalArgumentException(
                            "version_policy specific: version " + version + " (expected: > 0)");
                }
            }
        }

        @Override
        public SortedSet<Long> select(SortedSet<Long> available) {
            return Collections.unmodifiableSortedSet(new TreeSet<>(versions));
        }
    }

    /** Reads the value of the {@code version_policy} field; throws IllegalArgumentException naming the problem. */
    static VersionPolicy fromJson(String model, JsonNode json) {
        String expected = "(expected: {\"latest\": {\"num_versions\": N}}, {\"all\": {}} or "
                + "{\"specific\": {\"versions\": [...]}})";
        if (!json.isObject() || json.size() != 1) {
            throw new IllegalArgumentException(
                    "config.json of model " + model + ": version_policy: " + json + " " + expected);
        }
        String kind = json.fieldNames().next();
        JsonNode value = json.get(kind);
        return switch (kind) {
            case "latest" -> new Latest(positiveInt(model, value.isObject() ? value.get("num_versions") : value));
            case "all" -> {
                if (!value.isObject() || !value.isEmpty()) {
                    throw new IllegalArgumentException(
                            "config.json of model " + model + ": version_policy all: " + value + " (expected: {})");
                }
                yield new All();
            }
            case "specific" -> new Specific(versionList(model, value.isObject() ? value.get("versions") : value));
            default -> throw new IllegalArgumentException("config.json of model " + model
                    + ": version_policy: unknown policy '" + kind + "' " + expected);
        };
    }

    private static int positiveInt(String model, JsonNode value) {
        if (value == null || !value.isIntegralNumber() || !value.canConvertToInt() || value.intValue() <= 0) {
            throw new IllegalArgumentException("config.json of model " + model + ": version_policy latest: "
                    + value + " (expected: an integer > 0)");
        }
        return value.intValue();
    }

    private static List<Long> versionList(String model, JsonNode value) {
        if (value == null || !value.isArray()) {
            throw new IllegalArgumentException("config.json of model " + model + ": version_policy specific: "
                    + value + " (expected: an array of version numbers)");
        }
        if (value.isEmpty()) {
            throw new IllegalArgumentException("config.json of model " + model
                    + ": version_policy specific: [] (expected: at least one version)");
        }
        List<Long> versions = new ArrayList<>();
        for (JsonNode element : value) {
            if (!element.isIntegralNumber() || !element.canConvertToLong() || element.longValue() <= 0) {
                throw new IllegalArgumentException("config.json of model " + model
                        + ": version_policy specific: " + element + " (expected: a version number > 0)");
            }
            versions.add(element.longValue());
        }
        return versions;
    }
}
