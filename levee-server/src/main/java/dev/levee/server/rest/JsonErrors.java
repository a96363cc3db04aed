package dev.levee.server.rest;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;

/**
 * Turns a JSON parser error into a message for the client: what is wrong and where, without the
 * parser's advice on its own configuration settings, and short whatever the input held.
 */
final class JsonErrors {
    private static final int MAX_LENGTH = 200;

    private JsonErrors() {}

    static String describe(JsonProcessingException error) {
        String message = String.valueOf(error.getOriginalMessage());
        if (message.contains("nesting depth")) {
            message = "arrays or objects are nested too deeply";
        }
        // Jackson appends hints such as "(consider enabling ...)" that name its own settings.
        int hint = message.indexOf(" (");
        if (hint > 0 && (message.contains("Feature") || message.contains("Constraints"))) {
            message = message.substring(0, hint);
        }
        message = message.replaceAll("\\s+", " ").trim();
        if (message.length() > MAX_LENGTH) {
            message = message.substring(0, MAX_LENGTH) + "...";
        }
        JsonLocation location = error.getLocation();
        if (location != null && location.getLineNr() > 0) {
            message += " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
        }
        return message;
    }
}
