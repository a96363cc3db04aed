package dev.levee.gateway;

import java.util.regex.Pattern;

/** The port part of a {@code k8s:[NAMESPACE/]SERVICE[:PORT]} node entry. */
sealed interface ServicePort {
    /** Port name of a slice that an entry without a port uses, when the slice has it. */
    String DEFAULT_NAME = "http";

    /** A Kubernetes port name: a DNS label (RFC 1123) of at most 63 characters. */
    Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    /** A port number, used for every endpoint whatever ports the slices list. */
    record Numbered(int number) implements ServicePort {
        @Override
        public String toString() {
            return Integer.toString(number);
        }
    }

    /** The number of the slice port with this name, looked up in each slice. */
    record Named(String name) implements ServicePort {
        @Override
        public String toString() {
            return name;
        }
    }

    /** No port in the entry: the slice port named {@value #DEFAULT_NAME}, else the slice's only port. */
    record Unspecified() implements ServicePort {
        @Override
        public String toString() {
            return "";
        }
    }

    /** Parses a port number or name; {@code entry} is the whole entry, for the error message. */
    static ServicePort parse(String text, String entry) {
        if (!text.isEmpty() && text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            int number = text.length() <= 5 ? Integer.parseInt(text) : 0;
            if (number < 1 || number > 65535) {
                throw new IllegalArgumentException(
                        "node entry '" + entry + "' has invalid port " + text + " (expected: 1 to 65535, or a name)");
            }
            return new Numbered(number);
        }
        if (!NAME.matcher(text).matches()) {
            throw new IllegalArgumentException("node entry '" + entry + "' has invalid port '" + text
                    + "' (expected: a number from 1 to 65535, or a port name of lowercase letters, digits and '-')");
        }
        return new Named(text);
    }
}
