package dev.levee.faults;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Samples the gateway's {@code levee_gateway_attempts_total} counters, per node and result, at a
 * fixed interval on a thread of its own, so a test can tell when traffic left a node or reached
 * one, and each node's share of the successful attempts over a span of time. The gateway counts
 * an attempt when it ends, with a response or a failure. Times are on {@link System#nanoTime()}'s
 * scale.
 */
final class AttemptSampler implements AutoCloseable {
    private static final String METRIC = "levee_gateway_attempts_total{";
    private static final Pattern LABEL = Pattern.compile("(\\w+)=\"([^\"]*)\"");
    /** Maximum time a sampler runs, so a test that never stops it still ends it. */
    private static final Duration MAX_RUN = Duration.ofMinutes(2);

    /** The counters at one time: attempts by node, then by result ("200", "503", "timeout", ...). */
    record Sample(long nanos, Map<String, Map<String, Double>> attempts) {
        double count(String node, String result) {
            return attempts.getOrDefault(node, Map.of()).getOrDefault(result, 0.0);
        }

        /** Returns the node's attempts, whatever their result. */
        double total(String node) {
            return attempts.getOrDefault(node, Map.of()).values().stream().mapToDouble(Double::doubleValue).sum();
        }

        /** Returns the attempts that got 200, over every node. */
        double okEverywhere() {
            return attempts.keySet().stream().mapToDouble(node -> count(node, "200")).sum();
        }
    }

    private final Supplier<String> scrape;
    private final long intervalNanos;
    private final List<Sample> samples = new ArrayList<>();
    private final Thread thread;

    private AttemptSampler(Supplier<String> scrape, Duration interval) {
        this.scrape = scrape;
        this.intervalNanos = interval.toNanos();
        this.thread = Thread.ofPlatform().name("attempt-sampler").daemon().unstarted(this::run);
    }

    /** Starts sampling the metrics that {@code scrape} returns every {@code interval}. */
    static AttemptSampler start(Supplier<String> scrape, Duration interval) {
        AttemptSampler sampler = new AttemptSampler(scrape, interval);
        sampler.sample();
        sampler.thread.start();
        return sampler;
    }

    private void run() {
        long end = System.nanoTime() + MAX_RUN.toNanos();
        while (System.nanoTime() < end) {
            try {
                Thread.sleep(Duration.ofNanos(intervalNanos));
            } catch (InterruptedException e) {
                return;
            }
            sample();
        }
    }

    private void sample() {
        long now = System.nanoTime();
        Map<String, Map<String, Double>> attempts = new HashMap<>();
        for (String line : scrape.get().lines().toList()) {
            if (!line.startsWith(METRIC)) {
                continue;
            }
            int close = line.indexOf('}');
            Map<String, String> labels = new HashMap<>();
            Matcher matcher = LABEL.matcher(line.substring(METRIC.length(), close));
            while (matcher.find()) {
                labels.put(matcher.group(1), matcher.group(2));
            }
            double value = Double.parseDouble(line.substring(close + 1).trim());
            attempts.computeIfAbsent(labels.get("node"), node -> new HashMap<>()).put(labels.get("result"), value);
        }
        synchronized (samples) {
            samples.add(new Sample(now, attempts));
        }
    }

    /** Stops sampling after one last sample and returns every sample, oldest first. */
    List<Sample> stop() throws InterruptedException {
        thread.interrupt();
        thread.join(Duration.ofSeconds(5));
        sample();
        synchronized (samples) {
            return List.copyOf(samples);
        }
    }

    @Override
    public void close() {
        thread.interrupt();
    }

    /**
     * Returns the time of the first sample by which every attempt at {@code node} had ended, at
     * most one interval after the last one ended.
     */
    static long lastAttemptEndNanos(List<Sample> samples, String node) {
        double last = samples.getLast().total(node);
        for (Sample sample : samples) {
            if (sample.total(node) >= last) {
                return sample.nanos();
            }
        }
        return samples.getLast().nanos();
    }

    /** Returns the time of the first sample where {@code node} had a 200, if it had one. */
    static OptionalLong firstOkNanos(List<Sample> samples, String node) {
        for (Sample sample : samples) {
            if (sample.count(node, "200") > 0) {
                return OptionalLong.of(sample.nanos());
            }
        }
        return OptionalLong.empty();
    }

    /** Returns {@code node}'s share of the 200 attempts made between {@code from} and {@code to}. */
    static double okShare(List<Sample> samples, String node, long from, long to) {
        Sample first = at(samples, from);
        Sample last = at(samples, to);
        double all = last.okEverywhere() - first.okEverywhere();
        return all == 0 ? 0 : (last.count(node, "200") - first.count(node, "200")) / all;
    }

    /** Returns the first sample taken at or after {@code nanos}, or the last sample. */
    private static Sample at(List<Sample> samples, long nanos) {
        for (Sample sample : samples) {
            if (sample.nanos() - nanos >= 0) {
                return sample;
            }
        }
        return samples.getLast();
    }
}
