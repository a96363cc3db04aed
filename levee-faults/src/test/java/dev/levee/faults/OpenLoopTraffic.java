package dev.levee.faults;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * Open-loop traffic to the synthetic model: requests leave on a fixed schedule whatever the
 * responses, each with a {@code Levee-Timeout-Ms} deadline, and each latency counts from the
 * request's intended send time, so a stall cannot hide in a slower sending rate. Unlike levee
 * loadtest's generator it keeps every request's outcome, so a test can look at the time around
 * a fault.
 *
 * <p>A run sends exactly rate x duration requests and waits for their responses at most the
 * deadline plus {@link #GRACE} after the last one, so it is bounded in count and in time.
 */
final class OpenLoopTraffic implements AutoCloseable {
    /** Time past a request's deadline after which the client gives up on it. */
    static final Duration GRACE = Duration.ofSeconds(3);

    /**
     * One request: when it was meant to leave, relative to the run's start, and how it ended.
     *
     * @param status the HTTP status, or 0 when no response came
     * @param failure the client's exception when no response came, else empty
     */
    record Outcome(long intendedNanos, long latencyNanos, int status, String failure) {
        boolean ok() {
            return status == 200;
        }

        @Override
        public String toString() {
            return String.format("at %d ms: %s after %d ms", intendedNanos / 1_000_000,
                    status == 0 ? failure : "status " + status, latencyNanos / 1_000_000);
        }
    }

    private final HttpClient client;
    private final URI url;
    private final double ratePerSecond;
    private final Duration duration;
    private final Duration deadline;
    private final long startNanos;
    private final List<CompletableFuture<Outcome>> outcomes = new ArrayList<>();
    private final Thread sender;

    private OpenLoopTraffic(URI url, double ratePerSecond, Duration duration, Duration deadline) {
        this.client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(deadline)
                .build();
        this.url = url;
        this.ratePerSecond = ratePerSecond;
        this.duration = duration;
        this.deadline = deadline;
        this.startNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(5);
        this.sender = Thread.ofPlatform().name("open-loop-sender").daemon().unstarted(this::send);
    }

    /**
     * Starts sending {@code ratePerSecond} requests a second to {@code url} for {@code duration},
     * each with the deadline {@code deadline}, on a thread of its own.
     */
    static OpenLoopTraffic start(URI url, double ratePerSecond, Duration duration, Duration deadline) {
        OpenLoopTraffic traffic = new OpenLoopTraffic(url, ratePerSecond, duration, deadline);
        traffic.sender.start();
        return traffic;
    }

    /** Returns when the run started, on {@link System#nanoTime()}'s scale. */
    long startNanos() {
        return startNanos;
    }

    /** Returns the time since the run started, in nanoseconds. */
    long elapsedNanos() {
        return System.nanoTime() - startNanos;
    }

    private void send() {
        long count = Math.round(ratePerSecond * duration.toNanos() / 1e9);
        long gapNanos = (long) (1e9 / ratePerSecond);
        for (long i = 0; i < count; i++) {
            long intended = startNanos + i * gapNanos;
            long wait;
            while ((wait = intended - System.nanoTime()) > 0) {
                LockSupport.parkNanos(wait);
                if (Thread.currentThread().isInterrupted()) {
                    return;
                }
            }
            CompletableFuture<Outcome> outcome = client.sendAsync(request(url, i, deadline),
                            HttpResponse.BodyHandlers.discarding())
                    .handle((response, error) -> {
                        long latency = System.nanoTime() - intended;
                        return error == null
                                ? new Outcome(intended - startNanos, latency, response.statusCode(), "")
                                : new Outcome(intended - startNanos, latency, 0, error.toString());
                    });
            synchronized (outcomes) {
                outcomes.add(outcome);
            }
        }
    }

    /**
     * Sends {@code requests} requests to {@code url}, {@code concurrency} at a time, and returns
     * how many got 200. Tests use it to warm up a JVM whose first requests are slow while its
     * classes load and compile.
     */
    static int warmUp(URI url, int requests, int concurrency, Duration deadline) throws InterruptedException {
        int ok = 0;
        try (HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            List<CompletableFuture<HttpResponse<Void>>> batch = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                batch.add(client.sendAsync(request(url, i, deadline), HttpResponse.BodyHandlers.discarding()));
                if (batch.size() == concurrency || i == requests - 1) {
                    for (CompletableFuture<HttpResponse<Void>> response : batch) {
                        try {
                            ok += response.get(deadline.plus(GRACE).toMillis(), TimeUnit.MILLISECONDS)
                                    .statusCode() == 200 ? 1 : 0;
                        } catch (ExecutionException | TimeoutException e) {
                            // A failed warm-up request only means the JVM is not warm yet.
                        }
                    }
                    batch.clear();
                }
            }
        }
        return ok;
    }

    private static HttpRequest request(URI url, long sequence, Duration deadline) {
        String body = "{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":["
                + (sequence % 1000) + ",1]}]}";
        return HttpRequest.newBuilder(url)
                .timeout(deadline.plus(GRACE))
                .header("Content-Type", "application/json")
                .header("Levee-Timeout-Ms", Long.toString(deadline.toMillis()))
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
    }

    /**
     * Waits for the last request to be sent and every response, and returns every request's
     * outcome in the order sent. A request without a response by then counts as failed.
     */
    List<Outcome> await() throws InterruptedException {
        sender.join(duration.plus(GRACE).toMillis());
        List<CompletableFuture<Outcome>> sent;
        synchronized (outcomes) {
            sent = List.copyOf(outcomes);
        }
        long waitUntil = System.nanoTime() + deadline.plus(GRACE).toNanos();
        List<Outcome> result = new ArrayList<>(sent.size());
        for (CompletableFuture<Outcome> outcome : sent) {
            long left = Math.max(0, waitUntil - System.nanoTime());
            try {
                result.add(outcome.get(left, TimeUnit.NANOSECONDS));
            } catch (TimeoutException | ExecutionException e) {
                result.add(new Outcome(-1, -1, 0, "no response within the deadline plus " + GRACE.toMillis()
                        + " ms"));
            }
        }
        return result;
    }

    @Override
    public void close() {
        sender.interrupt();
        // close() would wait for the requests in flight; a finished or failed test needs none of them.
        client.shutdownNow();
    }
}
