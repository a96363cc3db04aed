package dev.levee.core;

import java.util.Locale;
import java.util.Optional;

/** How a request ranks when a model is overloaded: low priority work is shed first. */
public enum Priority {
    NORMAL,
    LOW;

    /** Parses {@code normal} or {@code low}, ignoring case. */
    public static Optional<Priority> parse(String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "normal", "default", "high" -> Optional.of(NORMAL);
            case "low" -> Optional.of(LOW);
            default -> Optional.empty();
        };
    }
}
