package dev.levee.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;

/**
 * A stand-in for the Kubernetes API server, on a loopback port. It is a stand-in because no real
 * Kubernetes API server can run in these tests. It serves only the EndpointSlice list,
 * {@code GET /apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices}, filtered by namespace and
 * by a {@code kubernetes.io/service-name=NAME} label selector, and pages with {@code limit} and
 * {@code continue}, as the real server does. Its JSON has the shape of discovery.k8s.io/v1. A test
 * sets the slices, can replace the responses with a failure, and reads the requests it recorded.
 */
final class StandInKubernetesApi implements AutoCloseable {
    static final String SERVICE_LABEL = "kubernetes.io/service-name";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LIST_PATH =
            Pattern.compile("/apis/discovery\\.k8s\\.io/v1/namespaces/([^/]+)/endpointslices");
    /** Maximum time a stalled request waits for its release. */
    private static final long STALL_SECONDS = 30;

    /** One request as the stand-in received it; {@code authorization} is empty when the header was absent. */
    record Request(String path, Map<String, String> query, String authorization) {}

    /** A response that replaces every list response while set; with {@code stall}, none until it is released. */
    private record Failure(int status, String body, CountDownLatch stall) {}

    private final HttpServer server;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    /** Guarded by {@code this}; slices by name, in the order they were first put. */
    private final Map<String, ObjectNode> slices = new LinkedHashMap<>();
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private volatile int maxPageSize = Integer.MAX_VALUE;
    private volatile Failure failure;
    private long resourceVersion = 1;

    private StandInKubernetesApi(HttpServer server) {
        this.server = server;
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    /** Starts a stand-in that speaks plain HTTP. */
    static StandInKubernetesApi http() throws IOException {
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        return new StandInKubernetesApi(HttpServer.create(loopback, 0));
    }

    /** Starts a stand-in that speaks HTTPS with the certificate of {@code tls}. */
    static StandInKubernetesApi https(SSLContext tls) throws IOException {
        HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        return new StandInKubernetesApi(server);
    }

    /** Returns the base URL, such as {@code https://127.0.0.1:PORT}. */
    URI uri() {
        String scheme = server instanceof HttpsServer ? "https" : "http";
        return URI.create(scheme + "://127.0.0.1:" + server.getAddress().getPort());
    }

    /** Adds a slice, or replaces the slice of the same name. */
    synchronized void put(ObjectNode slice) {
        slices.put(slice.path("metadata").path("name").asText(), slice);
        resourceVersion++;
    }

    synchronized void remove(String sliceName) {
        slices.remove(sliceName);
        resourceVersion++;
    }

    /** Returns at most {@code size} slices per page, fewer than the client's limit, as a real server may. */
    void maxPageSize(int size) {
        maxPageSize = size;
    }

    /** Responds to every list request with {@code status} and {@code body} until {@link #recover()}. */
    void fail(int status, String body) {
        recover();
        failure = new Failure(status, body, null);
    }

    /**
     * Holds every list request without a response until {@link #recover()} or {@link #close()}, at
     * most 30 s, then closes its connection.
     */
    void stall() {
        recover();
        failure = new Failure(200, "", new CountDownLatch(1));
    }

    /** Ends a failure set by {@link #fail} or {@link #stall()}: the stand-in serves slices again. */
    void recover() {
        Failure current = failure;
        failure = null;
        if (current != null && current.stall() != null) {
            current.stall().countDown();
        }
    }

    List<Request> requests() {
        return List.copyOf(requests);
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getRawPath();
            Map<String, String> query = query(exchange.getRequestURI().getRawQuery());
            String authorization = exchange.getRequestHeaders().getFirst("Authorization");
            requests.add(new Request(path, query, authorization == null ? "" : authorization));
            Failure current = failure;
            if (current != null && current.stall() != null) {
                awaitRelease(current.stall());
                return;
            }
            if (current != null) {
                respond(exchange, current.status(), current.body());
                return;
            }
            Matcher list = LIST_PATH.matcher(path);
            if (!exchange.getRequestMethod().equals("GET") || !list.matches()) {
                respond(exchange, 404, status(404, "NotFound", "the server could not find the requested resource"));
                return;
            }
            respondWithList(exchange, list.group(1), query);
        }
    }

    private static void awaitRelease(CountDownLatch stall) {
        try {
            stall.await(STALL_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void respondWithList(HttpExchange exchange, String namespace, Map<String, String> query)
            throws IOException {
        String selector = query.getOrDefault("labelSelector", "");
        String service = selector.startsWith(SERVICE_LABEL + "=") ? selector.substring(SERVICE_LABEL.length() + 1) : "";
        int limit = Integer.parseInt(query.getOrDefault("limit", "0"));
        int pageSize = Math.min(limit > 0 ? limit : Integer.MAX_VALUE, maxPageSize);
        int offset = 0;
        String continueToken = query.getOrDefault("continue", "");
        if (!continueToken.isEmpty()) {
            if (!continueToken.startsWith("page-after-")) {
                respond(exchange, 400, status(400, "BadRequest", "continue key is not valid"));
                return;
            }
            offset = Integer.parseInt(continueToken.substring("page-after-".length()));
        }
        List<ObjectNode> matching = new ArrayList<>();
        long version;
        synchronized (this) {
            version = resourceVersion;
            for (ObjectNode slice : slices.values()) {
                if (slice.path("metadata").path("namespace").asText().equals(namespace)
                        && slice.path("metadata").path("labels").path(SERVICE_LABEL).asText().equals(service)) {
                    matching.add(slice.deepCopy());
                }
            }
        }
        ObjectNode body = JSON.createObjectNode();
        body.put("kind", "EndpointSliceList");
        body.put("apiVersion", "discovery.k8s.io/v1");
        ObjectNode metadata = body.putObject("metadata");
        metadata.put("resourceVersion", Long.toString(version));
        int end = (int) Math.min((long) offset + pageSize, matching.size());
        if (end < matching.size()) {
            metadata.put("continue", "page-after-" + end);
        }
        ArrayNode items = body.putArray("items");
        matching.subList(Math.min(offset, end), end).forEach(items::add);
        respond(exchange, 200, body.toString());
    }

    private static Map<String, String> query(String rawQuery) {
        Map<String, String> query = new LinkedHashMap<>();
        if (rawQuery == null) {
            return query;
        }
        for (String pair : rawQuery.split("&")) {
            int equals = pair.indexOf('=');
            String name = equals < 0 ? pair : pair.substring(0, equals);
            String value = equals < 0 ? "" : pair.substring(equals + 1);
            query.put(URLDecoder.decode(name, StandardCharsets.UTF_8),
                    URLDecoder.decode(value, StandardCharsets.UTF_8));
        }
        return query;
    }

    private static void respond(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            exchange.getResponseBody().write(bytes);
        }
    }

    /** Returns a {@code Status} object as the API server sends with an error. */
    static String status(int code, String reason, String message) {
        ObjectNode status = JSON.createObjectNode();
        status.put("kind", "Status");
        status.put("apiVersion", "v1");
        status.putObject("metadata");
        status.put("status", "Failure");
        status.put("message", message);
        status.put("reason", reason);
        status.put("code", code);
        return status.toString();
    }

    /**
     * Returns an EndpointSlice of {@code service} in {@code namespace}, labelled and shaped as the
     * EndpointSlice controller writes it.
     */
    static ObjectNode slice(String namespace, String service, String name, String addressType, List<ObjectNode> ports,
            List<ObjectNode> endpoints) {
        ObjectNode slice = JSON.createObjectNode();
        ObjectNode metadata = slice.putObject("metadata");
        metadata.put("name", name);
        metadata.put("namespace", namespace);
        metadata.put("generateName", service + "-");
        ObjectNode labels = metadata.putObject("labels");
        labels.put(SERVICE_LABEL, service);
        labels.put("endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io");
        slice.put("addressType", addressType);
        if (endpoints.isEmpty()) {
            // The API server writes an empty endpoint list as null.
            slice.putNull("endpoints");
        } else {
            endpoints.forEach(slice.putArray("endpoints")::add);
        }
        ports.forEach(slice.putArray("ports")::add);
        return slice;
    }

    /**
     * Returns an endpoint with {@code addresses}; a null {@code ready} or {@code terminating}
     * leaves that condition out, as the API allows.
     */
    static ObjectNode endpointWith(Boolean ready, Boolean terminating, String... addresses) {
        ObjectNode endpoint = JSON.createObjectNode();
        ArrayNode list = endpoint.putArray("addresses");
        for (String address : addresses) {
            list.add(address);
        }
        ObjectNode conditions = endpoint.putObject("conditions");
        if (ready != null) {
            conditions.put("ready", ready);
            conditions.put("serving", ready);
        }
        if (terminating != null) {
            conditions.put("terminating", terminating);
        }
        endpoint.put("nodeName", "worker-1");
        ObjectNode target = endpoint.putObject("targetRef");
        target.put("kind", "Pod");
        target.put("name", "levee-node-" + Integer.toHexString(String.join(",", addresses).hashCode()));
        return endpoint;
    }

    /** Returns a ready endpoint. */
    static ObjectNode endpoint(String... addresses) {
        return endpointWith(true, false, addresses);
    }

    /** Returns a TCP port; an empty name leaves the name out, as for a service's one unnamed port. */
    static ObjectNode port(String name, int number) {
        ObjectNode port = JSON.createObjectNode();
        if (!name.isEmpty()) {
            port.put("name", name);
        }
        port.put("protocol", "TCP");
        port.put("port", number);
        return port;
    }

    /** Releases stalled requests and stops the server. */
    @Override
    public void close() {
        recover();
        server.stop(0);
        executor.shutdownNow();
    }
}
