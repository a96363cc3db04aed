package dev.levee.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.levee.gateway.NodeAddress;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The netem stand-in against an echo server on loopback: bytes arrive whole, in order, and late. */
class DelayingProxyTest {
    private static final int TIMEOUT_MILLIS = 5000;

    private ServerSocket echo;
    private DelayingProxy proxy;

    @BeforeEach
    void start() throws IOException {
        echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(this::serveEcho);
        proxy = new DelayingProxy(new NodeAddress(InetAddress.getLoopbackAddress().getHostAddress(),
                echo.getLocalPort()));
    }

    @AfterEach
    void stop() throws IOException {
        proxy.close();
        echo.close();
    }

    private void serveEcho() {
        while (!echo.isClosed()) {
            try {
                Socket socket = echo.accept();
                Thread.ofVirtual().start(() -> {
                    try (socket) {
                        socket.getInputStream().transferTo(socket.getOutputStream());
                    } catch (IOException e) {
                        // The test closed the connection.
                    }
                });
            } catch (IOException e) {
                return;
            }
        }
    }

    /** Sends {@code payload} through the proxy, reads the echo, and returns the round trip in ms. */
    private long roundTripMillis(byte[] payload) throws IOException {
        NodeAddress address = proxy.address();
        try (Socket socket = new Socket(address.host(), address.port())) {
            socket.setSoTimeout(TIMEOUT_MILLIS);
            long start = System.nanoTime();
            socket.getOutputStream().write(payload);
            InputStream in = socket.getInputStream();
            byte[] echoed = in.readNBytes(payload.length);
            long elapsed = (System.nanoTime() - start) / 1_000_000;
            assertThat(echoed).as("the echoed bytes").isEqualTo(payload);
            return elapsed;
        }
    }

    @Test
    void forwardsWithoutDelayByDefault() throws IOException {
        assertThat(roundTripMillis("ping".getBytes())).isLessThan(150);
    }

    @Test
    void delaysBytesToTheTarget() throws IOException {
        proxy.delay(Duration.ofMillis(200));
        long millis = roundTripMillis("ping".getBytes());
        assertThat(millis).isGreaterThanOrEqualTo(200).isLessThan(1000);
    }

    @Test
    void keepsLargePayloadWholeAndInOrder() throws IOException {
        proxy.delay(Duration.ofMillis(50));
        byte[] payload = new byte[256 * 1024];
        new Random(7).nextBytes(payload);
        assertThat(roundTripMillis(payload)).isGreaterThanOrEqualTo(50);
    }
}
