package dev.levee.bench;

import java.time.Duration;

/**
 * Command-line settings of {@link CeilingBenchmark}.
 *
 * @param measure how long each batch size is measured
 * @param warmup how long each batch size runs unmeasured first, so the JIT and ONNX Runtime settle
 */
record BenchmarkArguments(Duration measure, Duration warmup) {
    static final int DEFAULT_MEASURE_SECONDS = 10;
    static final int DEFAULT_WARMUP_SECONDS = 5;

    /**
     * Parses {@code --seconds S} and {@code --warmup-seconds W}, and throws
     * IllegalArgumentException on anything else.
     */
    static BenchmarkArguments parse(String[] args) {
        int measureSeconds = DEFAULT_MEASURE_SECONDS;
        int warmupSeconds = DEFAULT_WARMUP_SECONDS;
        for (int i = 0; i < args.length; i += 2) {
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(args[i] + ": missing value (expected: a number of seconds)");
            }
            switch (args[i]) {
                case "--seconds" -> measureSeconds = seconds(args[i], args[i + 1], 1);
                case "--warmup-seconds" -> warmupSeconds = seconds(args[i], args[i + 1], 0);
                default -> throw new IllegalArgumentException(
                        "unknown option " + args[i] + " (expected: --seconds S, --warmup-seconds W)");
            }
        }
        return new BenchmarkArguments(Duration.ofSeconds(measureSeconds), Duration.ofSeconds(warmupSeconds));
    }

    private static int seconds(String option, String value, int minimum) {
        int seconds;
        try {
            seconds = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + ": " + value + " (expected: an integer number of seconds)");
        }
        if (seconds < minimum) {
            throw new IllegalArgumentException(option + ": " + value + " (expected: >= " + minimum + ")");
        }
        return seconds;
    }
}
