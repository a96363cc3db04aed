package dev.levee.server;

import static dev.levee.server.Requests.synthetic;
import static org.assertj.core.api.Assertions.assertThat;

import dev.levee.server.TestNode.Reply;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Swapping versions while clients send requests without a version fails none of them: the new
 * version serves before the old one stops taking requests, and the old one runs what it admitted.
 */
class VersionSwapUnderLoadTest {
    private static final int CLIENTS = 4;
    /** Each client stops after this time or this many requests, whichever comes first. */
    private static final long LOAD_MILLIS = 2_000;
    private static final int MAX_REQUESTS_PER_CLIENT = 20_000;

    @TempDir
    Path temp;

    private TestNode node;

    @AfterEach
    void stop() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void versionSwapUnderSteadyLoadFailsNoRequest() throws Exception {
        // A service time of 2 ms keeps requests queued and running at the moment of each swap.
        TestRepository files = new TestRepository(temp).synthetic("echo", "\"parameters\": {\"service_time_ms\": 2}", 1);
        node = TestNode.explicit(files.open());
        Map<String, AtomicLong> byVersion = new ConcurrentHashMap<>();
        List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean stop = new AtomicBoolean();
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LOAD_MILLIS);

        ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
        List<Future<?>> running = new ArrayList<>();
        for (int client = 0; client < CLIENTS; client++) {
            float value = client + 1;
            running.add(clients.submit(() -> {
                for (int i = 0; i < MAX_REQUESTS_PER_CLIENT && !stop.get() && System.nanoTime() < end; i++) {
                    Reply reply = node.post("/v2/models/echo/infer", synthetic(value));
                    if (reply.status() != 200 || reply.json().at("/outputs/0/data/0").floatValue() != value) {
                        failures.add(reply.status() + " " + reply.body());
                        continue;
                    }
                    byVersion.computeIfAbsent(reply.json().get("model_version").asText(), v -> new AtomicLong())
                            .incrementAndGet();
                }
            }));
        }
        try {
            Thread.sleep(LOAD_MILLIS / 4);
            files.addVersion("echo", 2);
            Reply swapTo2 = node.load("echo");
            assertThat(swapTo2.status()).as(swapTo2.body()).isEqualTo(200);
            Thread.sleep(LOAD_MILLIS / 4);
            files.addVersion("echo", 3);
            Reply swapTo3 = node.load("echo");
            assertThat(swapTo3.status()).as(swapTo3.body()).isEqualTo(200);
        } finally {
            for (Future<?> client : running) {
                client.get(LOAD_MILLIS + 30_000, TimeUnit.MILLISECONDS);
            }
            stop.set(true);
            clients.shutdownNow();
        }

        assertThat(failures).as("failed requests").isEmpty();
        assertThat(byVersion.keySet()).as("versions that answered").containsExactlyInAnyOrder("1", "2", "3");
        assertThat(node.indexState("echo", "1")).isEqualTo("UNAVAILABLE: unloaded");
        assertThat(node.indexState("echo", "2")).isEqualTo("UNAVAILABLE: unloaded");
        assertThat(node.indexState("echo", "3")).isEqualTo("READY");
    }
}
