package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import dev.levee.core.Clock;
import java.time.Duration;

/**
 * Settings of one gateway. {@link #builder()} starts from the defaults.
 *
 * @param host address to listen on
 * @param port TCP port of the gateway's REST and gRPC APIs; 0 picks a free port
 * @param eventLoops Vert.x event loop threads, each running its own HTTP server on the port
 * @param maxBodyBytes largest request body accepted; larger ones get 413
 * @param checkInterval time between readiness checks of each node
 * @param checkTimeout time a readiness check may take before it counts as a failure
 * @param modelCheckInterval time between checks of each requested model's readiness on each node
 * @param discoveryInterval time between resolutions of a DNS node source
 * @param ejectAfterFailures consecutive failed attempts or checks after which a node is ejected
 * @param rampUp time over which a node that became ready grows to its full share of requests
 * @param defaultTimeout deadline of a request that sets none
 * @param attemptTimeout maximum time one attempt may take, so that a stalled node leaves time for a
 *     retry. An attempt also ends at the request's deadline.
 * @param connectTimeout longest time to open a connection to a node
 * @param maxAttempts attempts per request, the first one included
 * @param retryBudgetRatio retries allowed per request over the retry budget's window
 * @param retryBudgetFloorPerSecond retries per second allowed whatever the request count
 * @param connectionsPerNode most HTTP/1.1 connections to one node, so most attempts in flight to it
 * @param clock time source for deadlines, ramp-up and the retry budget
 */
public record GatewayOptions(
        String host,
        int port,
        int eventLoops,
        long maxBodyBytes,
        Duration checkInterval,
        Duration checkTimeout,
        Duration modelCheckInterval,
        Duration discoveryInterval,
        int ejectAfterFailures,
        Duration rampUp,
        Duration defaultTimeout,
        Duration attemptTimeout,
        Duration connectTimeout,
        int maxAttempts,
        double retryBudgetRatio,
        int retryBudgetFloorPerSecond,
        int connectionsPerNode,
        Clock clock) {

    public GatewayOptions {
        requireNonNull(host, "host");
        requireNonNull(clock, "clock");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0 to 65535)");
        }
        positive("eventLoops", eventLoops);
        if (maxBodyBytes <= 0) {
            throw new IllegalArgumentException("maxBodyBytes: " + maxBodyBytes + " (expected: > 0)");
        }
        positive("checkInterval", checkInterval);
        positive("checkTimeout", checkTimeout);
        positive("modelCheckInterval", modelCheckInterval);
        positive("discoveryInterval", discoveryInterval);
        positive("ejectAfterFailures", ejectAfterFailures);
        requireNonNull(rampUp, "rampUp");
        if (rampUp.isNegative()) {
            throw new IllegalArgumentException("rampUp: " + rampUp + " (expected: >= 0)");
        }
        positive("defaultTimeout", defaultTimeout);
        positive("attemptTimeout", attemptTimeout);
        positive("connectTimeout", connectTimeout);
        positive("maxAttempts", maxAttempts);
        if (!(retryBudgetRatio >= 0 && retryBudgetRatio <= 1)) {
            throw new IllegalArgumentException("retryBudgetRatio: " + retryBudgetRatio + " (expected: 0 to 1)");
        }
        if (retryBudgetFloorPerSecond < 0) {
            throw new IllegalArgumentException(
                    "retryBudgetFloorPerSecond: " + retryBudgetFloorPerSecond + " (expected: >= 0)");
        }
        positive("connectionsPerNode", connectionsPerNode);
    }

    private static void positive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
        }
    }

    private static void positive(String name, Duration value) {
        requireNonNull(value, name);
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link GatewayOptions}, starting from the defaults. */
    public static final class Builder {
        private String host = "0.0.0.0";
        private int port = 8000;
        private int eventLoops = Math.max(1, Runtime.getRuntime().availableProcessors());
        private long maxBodyBytes = 64L * 1024 * 1024;
        private Duration checkInterval = Duration.ofMillis(500);
        private Duration checkTimeout = Duration.ofSeconds(1);
        private Duration modelCheckInterval = Duration.ofSeconds(2);
        private Duration discoveryInterval = Duration.ofSeconds(5);
        private int ejectAfterFailures = 3;
        private Duration rampUp = Duration.ofSeconds(3);
        private Duration defaultTimeout = Duration.ofSeconds(30);
        private Duration attemptTimeout = Duration.ofSeconds(5);
        private Duration connectTimeout = Duration.ofSeconds(1);
        private int maxAttempts = 3;
        private double retryBudgetRatio = 0.2;
        private int retryBudgetFloorPerSecond = 5;
        private int connectionsPerNode = 128;
        private Clock clock = Clock.SYSTEM;

        private Builder() {}

        public Builder host(String value) {
            host = value;
            return this;
        }

        public Builder port(int value) {
            port = value;
            return this;
        }

        public Builder eventLoops(int value) {
            eventLoops = value;
            return this;
        }

        public Builder maxBodyBytes(long value) {
            maxBodyBytes = value;
            return this;
        }

        public Builder checkInterval(Duration value) {
            checkInterval = value;
            return this;
        }

        public Builder checkTimeout(Duration value) {
            checkTimeout = value;
            return this;
        }

        public Builder modelCheckInterval(Duration value) {
            modelCheckInterval = value;
            return this;
        }

        public Builder discoveryInterval(Duration value) {
            discoveryInterval = value;
            return this;
        }

        public Builder ejectAfterFailures(int value) {
            ejectAfterFailures = value;
            return this;
        }

        public Builder rampUp(Duration value) {
            rampUp = value;
            return this;
        }

        public Builder defaultTimeout(Duration value) {
            defaultTimeout = value;
            return this;
        }

        public Builder attemptTimeout(Duration value) {
            attemptTimeout = value;
            return this;
        }

        public Builder connectTimeout(Duration value) {
            connectTimeout = value;
            return this;
        }

        public Builder maxAttempts(int value) {
            maxAttempts = value;
            return this;
        }

        public Builder retryBudget(double ratio, int floorPerSecond) {
            retryBudgetRatio = ratio;
            retryBudgetFloorPerSecond = floorPerSecond;
            return this;
        }

        public Builder connectionsPerNode(int value) {
            connectionsPerNode = value;
            return this;
        }

        public Builder clock(Clock value) {
            clock = value;
            return this;
        }

        public GatewayOptions build() {
            return new GatewayOptions(host, port, eventLoops, maxBodyBytes, checkInterval, checkTimeout,
                    modelCheckInterval, discoveryInterval, ejectAfterFailures, rampUp, defaultTimeout, attemptTimeout,
                    connectTimeout, maxAttempts, retryBudgetRatio, retryBudgetFloorPerSecond, connectionsPerNode,
                    clock);
        }
    }
}
