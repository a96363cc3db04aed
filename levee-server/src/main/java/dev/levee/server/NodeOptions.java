package dev.levee.server;

import static java.util.Objects.requireNonNull;

import dev.levee.batching.AdmissionPolicy;
import dev.levee.core.Clock;

/**
 * Settings of one node process.
 *
 * @param host address to listen on
 * @param port TCP port for REST (HTTP/1.1 and HTTP/2 cleartext); 0 picks a free port
 * @param maxBodyBytes largest request body accepted; larger ones get 413
 * @param eventLoops Vert.x event loop threads, each running its own HTTP server on the port
 * @param clock time source for deadlines and queue delays
 * @param admission the admission policy of every model's queue
 */
public record NodeOptions(
        String host, int port, long maxBodyBytes, int eventLoops, Clock clock, AdmissionPolicy admission) {

    public static final long DEFAULT_MAX_BODY_BYTES = 64L * 1024 * 1024;

    public NodeOptions {
        requireNonNull(host, "host");
        requireNonNull(clock, "clock");
        requireNonNull(admission, "admission");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0 to 65535)");
        }
        if (maxBodyBytes <= 0) {
            throw new IllegalArgumentException("maxBodyBytes: " + maxBodyBytes + " (expected: > 0)");
        }
        if (eventLoops <= 0) {
            throw new IllegalArgumentException("eventLoops: " + eventLoops + " (expected: > 0)");
        }
    }

    public static NodeOptions defaults() {
        return new NodeOptions("0.0.0.0", 8000, DEFAULT_MAX_BODY_BYTES,
                Math.max(1, Runtime.getRuntime().availableProcessors()), Clock.SYSTEM, AdmissionPolicy.predictive());
    }

    public NodeOptions withPort(int newPort) {
        return new NodeOptions(host, newPort, maxBodyBytes, eventLoops, clock, admission);
    }

    public NodeOptions withHost(String newHost) {
        return new NodeOptions(newHost, port, maxBodyBytes, eventLoops, clock, admission);
    }

    public NodeOptions withAdmission(AdmissionPolicy policy) {
        return new NodeOptions(host, port, maxBodyBytes, eventLoops, clock, policy);
    }

    public NodeOptions withClock(Clock newClock) {
        return new NodeOptions(host, port, maxBodyBytes, eventLoops, newClock, admission);
    }

    public NodeOptions withMaxBodyBytes(long bytes) {
        return new NodeOptions(host, port, bytes, eventLoops, clock, admission);
    }
}
