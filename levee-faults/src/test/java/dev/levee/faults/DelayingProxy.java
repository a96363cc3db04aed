package dev.levee.faults;

import dev.levee.gateway.NodeAddress;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * A TCP proxy on a loopback port in front of one node: a stand-in for {@code tc qdisc ... netem
 * delay}, for kernels without the sch_netem module. Bytes from the client to the node wait for the
 * current delay before they are written on, in order, as netem on the link's egress delays
 * packets. Bytes from the node back to the client pass at once. So a delay of 200 ms adds 200 ms
 * to every request's round trip, but, unlike netem, not to connection setup, since the proxy
 * accepts connections itself and then connects to the node.
 *
 * <p>Each connection uses three virtual threads: one reads the client's bytes and stamps them with
 * their release time, one writes them to the node when that time comes, one copies the node's
 * bytes back. {@link #close()} closes every socket, which ends them all.
 */
final class DelayingProxy implements AutoCloseable {
    private static final int CHUNK_BYTES = 16 * 1024;
    private static final int CONNECT_TIMEOUT_MILLIS = 1000;
    /** Marks the end of the client's bytes in a connection's queue. */
    private static final Chunk END = new Chunk(new byte[0], 0);

    /** Bytes read from the client, to be written to the node at {@code releaseNanos}. */
    private record Chunk(byte[] bytes, long releaseNanos) {}

    private final InetSocketAddress target;
    private final ServerSocket server;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile long delayNanos;
    private volatile boolean closed;

    /** Starts a proxy to {@code target} on a free loopback port, with no delay. */
    DelayingProxy(NodeAddress target) throws IOException {
        this.target = new InetSocketAddress(target.host(), target.port());
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("delaying-proxy-accept").start(this::accept);
    }

    /** Returns the proxy's address, which clients use in place of the node's. */
    NodeAddress address() {
        return new NodeAddress(InetAddress.getLoopbackAddress().getHostAddress(), server.getLocalPort());
    }

    /** Sets the delay of bytes read from clients from now on; bytes already held keep theirs. */
    void delay(Duration delay) {
        delayNanos = delay.toNanos();
    }

    private void accept() {
        while (!server.isClosed()) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return;
            }
            Thread.ofVirtual().name("delaying-proxy-connect").start(() -> connect(client));
        }
    }

    private void connect(Socket client) {
        if (closed) {
            closeQuietly(client);
            return;
        }
        sockets.add(client);
        Socket node = new Socket();
        sockets.add(node);
        try {
            node.setTcpNoDelay(true);
            client.setTcpNoDelay(true);
            node.connect(target, CONNECT_TIMEOUT_MILLIS);
        } catch (IOException e) {
            closeBoth(client, node);
            return;
        }
        BlockingQueue<Chunk> pending = new LinkedBlockingQueue<>();
        Thread.ofVirtual().name("delaying-proxy-hold").start(() -> hold(client, node, pending));
        Thread.ofVirtual().name("delaying-proxy-release").start(() -> release(client, node, pending));
        Thread.ofVirtual().name("delaying-proxy-back").start(() -> copyBack(client, node));
    }

    /** Reads the client's bytes and queues each chunk with the time it may go on to the node. */
    private void hold(Socket client, Socket node, BlockingQueue<Chunk> pending) {
        byte[] buffer = new byte[CHUNK_BYTES];
        // The streams are not closed here: closing a socket's stream closes the socket, and the
        // node's response may still be on its way back after the client has sent everything.
        try {
            InputStream in = client.getInputStream();
            int read;
            while ((read = in.read(buffer)) >= 0) {
                pending.add(new Chunk(Arrays.copyOf(buffer, read), System.nanoTime() + delayNanos));
            }
            pending.add(END);
        } catch (IOException e) {
            closeBoth(client, node);
            pending.add(END);
        }
    }

    /** Writes each held chunk to the node once its release time has come; half-closes at the end. */
    private void release(Socket client, Socket node, BlockingQueue<Chunk> pending) {
        try {
            OutputStream out = node.getOutputStream();
            while (true) {
                Chunk chunk = pending.take();
                if (chunk == END) {
                    node.shutdownOutput();
                    return;
                }
                long wait;
                while ((wait = chunk.releaseNanos() - System.nanoTime()) > 0) {
                    LockSupport.parkNanos(wait);
                }
                out.write(chunk.bytes());
                out.flush();
            }
        } catch (IOException e) {
            closeBoth(client, node);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeBoth(client, node);
        }
    }

    /** Copies the node's bytes to the client without delay, then closes both sockets. */
    private void copyBack(Socket client, Socket node) {
        try {
            node.getInputStream().transferTo(client.getOutputStream());
        } catch (IOException e) {
            // The connection ended on one side; both sockets close below.
        }
        closeBoth(client, node);
    }

    private void closeBoth(Socket client, Socket node) {
        closeQuietly(client);
        closeQuietly(node);
        sockets.remove(client);
        sockets.remove(node);
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // Closing is best effort: the socket is unusable either way.
        }
    }

    /** Stops accepting and closes every connection, which ends every thread of the proxy. */
    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        sockets.forEach(DelayingProxy::closeQuietly);
        sockets.clear();
    }
}
