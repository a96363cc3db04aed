package dev.levee.loadtest;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongFunction;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Sends POST requests to one URL at a fixed arrival rate and records what comes back. Every step
 * sends exactly rate x duration requests and then waits at most the request timeout (plus a
 * second) for the last answers, so a run is bounded in count and time whatever the server does.
 */
public final class OpenLoopGenerator implements AutoCloseable {
    private final Vertx vertx;
    /** The client's one event loop; every client call is made on it, as Vert.x expects. */
    private final Context context;
    private final HttpClient client;
    private final RequestOptions target;
    private final Duration timeout;

    public OpenLoopGenerator(URI url, int connections, Duration timeout) {
        if (connections <= 0) {
            throw new IllegalArgumentException("connections: " + connections + " (expected: > 0)");
        }
        this.timeout = timeout;
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
        this.client = vertx.createHttpClient(
                new HttpClientOptions().setKeepAlive(true).setConnectTimeout((int) timeout.toMillis()),
                new PoolOptions().setHttp1MaxSize(connections));
        this.context = vertx.getOrCreateContext();
        this.target = new RequestOptions()
                .setMethod(HttpMethod.POST)
                .setAbsoluteURI(url.toString())
                .putHeader("Content-Type", "application/json")
                .setConnectTimeout(timeout.toMillis())
                .setIdleTimeout(timeout.toMillis());
    }

    /** Runs one step; {@code firstSequence} numbers its requests for the body function. */
    public StepResult run(LoadStep step, Arrival arrival, LongFunction<byte[]> bodies, Duration slo, long seed,
            long firstSequence) throws InterruptedException {
        Recording recording = new Recording(slo.toNanos());
        SplittableRandom random = new SplittableRandom(seed);
        long count = step.requests();
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(5);
        long intended = start;
        long lastSend = start;
        for (long i = 0; i < count; i++) {
            if (i > 0) {
                intended += arrival.gapNanos(step.ratePerSecond(), random);
            }
            long wait;
            while ((wait = intended - System.nanoTime()) > 0) {
                LockSupport.parkNanos(wait);
            }
            send(bodies.apply(firstSequence + i), intended, recording);
            lastSend = System.nanoTime();
        }
        long drainDeadline = System.nanoTime() + timeout.toNanos() + TimeUnit.SECONDS.toNanos(1);
        while (recording.outstanding.get() > 0 && System.nanoTime() < drainDeadline) {
            Thread.sleep(5);
        }
        long unanswered = recording.outstanding.get();
        if (unanswered > 0) {
            recording.errors.computeIfAbsent("unanswered", k -> new LongAdder()).add(unanswered);
        }
        double seconds = step.duration().toNanos() / 1e9;
        double sendSeconds = Math.max(1e-9, (lastSend - start) / 1e9);
        return recording.result(step.ratePerSecond(), count <= 1 ? count : (count - 1) / sendSeconds, seconds, count);
    }

    private void send(byte[] body, long intended, Recording recording) {
        recording.outstanding.incrementAndGet();
        context.runOnContext(v -> sendOnEventLoop(body, intended, recording));
    }

    private void sendOnEventLoop(byte[] body, long intended, Recording recording) {
        Future<Integer> status = client.request(target)
                .compose(request -> request.send(Buffer.buffer(body)))
                .compose(response -> response.body().map(ignored -> response.statusCode()));
        status.onComplete(result -> {
            long latency = System.nanoTime() - intended;
            if (result.succeeded()) {
                recording.status(result.result(), latency);
            } else {
                recording.error(kind(result.cause()));
            }
            recording.outstanding.decrementAndGet();
        });
    }

    private static String kind(Throwable error) {
        if (error instanceof ConnectException) {
            return "connect";
        }
        if (error instanceof TimeoutException || String.valueOf(error.getMessage()).contains("timeout")) {
            return "timeout";
        }
        if (String.valueOf(error.getMessage()).toLowerCase(java.util.Locale.ROOT).contains("closed")) {
            return "connection_closed";
        }
        return error.getClass().getSimpleName();
    }

    @Override
    public void close() {
        client.close();
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            // Closing is best effort: the generator's threads are daemons and the run is over.
        }
    }

    /** Thread-safe tallies of one step; responses arrive on the client's event loop. */
    private static final class Recording {
        final long sloNanos;
        final Histogram ok = new ConcurrentHistogram(3);
        final Histogram rejections = new ConcurrentHistogram(3);
        final LongAdder withinSlo = new LongAdder();
        final Map<Integer, LongAdder> rejected = new ConcurrentHashMap<>();
        final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
        final AtomicLong outstanding = new AtomicLong();

        Recording(long sloNanos) {
            this.sloNanos = sloNanos;
        }

        void status(int status, long latencyNanos) {
            long micros = Math.max(1, latencyNanos / 1000);
            if (status == 200) {
                ok.recordValue(micros);
                if (latencyNanos <= sloNanos) {
                    withinSlo.increment();
                }
            } else if (status == 429 || status == 503 || status == 504) {
                rejections.recordValue(micros);
                rejected.computeIfAbsent(status, k -> new LongAdder()).increment();
            } else {
                error("http_" + status);
            }
        }

        void error(String kind) {
            errors.computeIfAbsent(kind, k -> new LongAdder()).increment();
        }

        StepResult result(double offered, double sentRps, double seconds, long sent) {
            return new StepResult(offered, sentRps, seconds, sent, ok.getTotalCount(), tally(rejected), tally(errors),
                    withinSlo.sum() / seconds, millis(ok, 50), millis(ok, 90), millis(ok, 99), millis(ok, 99.9),
                    ok.getTotalCount() == 0 ? 0 : ok.getMaxValue() / 1000.0, millis(rejections, 99));
        }

        private static double millis(Histogram histogram, double percentile) {
            return histogram.getTotalCount() == 0 ? 0 : histogram.getValueAtPercentile(percentile) / 1000.0;
        }

        private static <K extends Comparable<K>> Map<K, Long> tally(Map<K, LongAdder> counts) {
            Map<K, Long> sorted = new TreeMap<>();
            counts.forEach((k, v) -> sorted.put(k, v.sum()));
            return sorted;
        }
    }
}
