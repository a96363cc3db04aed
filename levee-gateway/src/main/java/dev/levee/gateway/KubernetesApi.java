package dev.levee.gateway;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;

/**
 * Lists EndpointSlices through the Kubernetes API with the JDK's HTTP client. Over https it trusts
 * only the CAs of the configured CA file and sends the service account token, read again for every
 * request because Kubernetes rotates it. Every list, all its pages together, ends within the
 * configured timeout.
 */
final class KubernetesApi {
    /** Slices per page. The API server may return fewer, and then a token for the next page. */
    static final int PAGE_LIMIT = 500;
    /** Bound on the pages of one list, so that a server that always returns a next page cannot loop the gateway. */
    private static final int MAX_PAGES = 100;
    /**
     * Maximum bytes of the response bodies of one list, all pages together, so that a broken or
     * hostile API server cannot fill the gateway's heap within the list timeout. NOTE: the size is
     * an estimate. 500 slices of 100 endpoints each, at about 400 bytes of JSON per endpoint, are
     * about 20 MB. But kube-controller-manager's --max-endpoints-per-slice allows up to 1000, and
     * 500 such full slices could pass this limit.
     */
    static final long MAX_BODY_BYTES = 64L * 1024 * 1024;
    /** Maximum characters of an API error body quoted in a message. */
    private static final int MAX_QUOTED_CHARS = 300;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final KubernetesConfig config;
    private final HttpClient client;
    private final boolean https;
    private final long maxBodyBytes;

    private KubernetesApi(KubernetesConfig config, HttpClient client, long maxBodyBytes) {
        this.config = config;
        this.client = client;
        this.https = config.apiServer().getScheme().equals("https");
        this.maxBodyBytes = maxBodyBytes;
    }

    /**
     * Creates a client for the API server of {@code config}. Over https it reads the CA file now and
     * never again, so a changed CA takes effect only in a new gateway.
     *
     * @throws IOException when the CA file cannot be read or contains no certificate
     */
    static KubernetesApi connect(KubernetesConfig config) throws IOException {
        return connect(config, MAX_BODY_BYTES);
    }

    /** Creates a client as {@link #connect(KubernetesConfig)} does, with another limit on the bytes of a list. */
    static KubernetesApi connect(KubernetesConfig config, long maxBodyBytes) throws IOException {
        requireNonNull(config, "config");
        HttpClient.Builder builder = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(config.timeout())
                .followRedirects(HttpClient.Redirect.NEVER);
        if (config.apiServer().getScheme().equals("https")) {
            builder.sslContext(trusting(config));
        }
        return new KubernetesApi(config, builder.build(), maxBodyBytes);
    }

    private static SSLContext trusting(KubernetesConfig config) throws IOException {
        try (InputStream in = Files.newInputStream(config.caFile())) {
            KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
            trusted.load(null, null);
            int index = 0;
            for (Certificate certificate : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                trusted.setCertificateEntry("ca-" + index++, certificate);
            }
            if (index == 0) {
                throw new IOException("the Kubernetes CA file " + config.caFile() + " contains no certificate");
            }
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trusted);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IOException("the Kubernetes CA file " + config.caFile() + " is not a PEM certificate file: "
                    + e.getMessage(), e);
        } catch (NoSuchFileException e) {
            throw new IOException("the Kubernetes CA file " + config.caFile() + " does not exist", e);
        }
    }

    /**
     * Lists the EndpointSlices of {@code service} in {@code namespace}: those labelled
     * {@code kubernetes.io/service-name=SERVICE}, following {@code continue} tokens to the last page.
     *
     * @throws IOException when the API cannot be reached, rejects the request, responds with
     *     something other than an EndpointSliceList, or the list takes longer than the timeout or
     *     more bytes than the limit
     */
    List<EndpointSlice> endpointSlices(String namespace, String service) throws IOException {
        long deadline = System.nanoTime() + config.timeout().toNanos();
        long bytesLeft = maxBodyBytes;
        List<EndpointSlice> slices = new ArrayList<>();
        String continueToken = "";
        for (int page = 0; page < MAX_PAGES; page++) {
            URI uri = listUri(namespace, service, continueToken);
            Fetched fetched = get(uri, deadline, bytesLeft, namespace, service);
            bytesLeft -= fetched.bytes();
            EndpointSlice.Page result = EndpointSlice.parsePage(fetched.json());
            slices.addAll(result.items());
            continueToken = result.continueToken();
            if (continueToken.isEmpty()) {
                return slices;
            }
        }
        throw new IOException("the EndpointSlice list of service " + namespace + "/" + service + " has more than "
                + MAX_PAGES + " pages of " + PAGE_LIMIT);
    }

    private URI listUri(String namespace, String service, String continueToken) {
        String base = config.apiServer().toString();
        if (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        String query = "labelSelector=" + encode("kubernetes.io/service-name=" + service) + "&limit=" + PAGE_LIMIT;
        if (!continueToken.isEmpty()) {
            query += "&continue=" + encode(continueToken);
        }
        return URI.create(base + "/apis/discovery.k8s.io/v1/namespaces/" + namespace + "/endpointslices?" + query);
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    /** One page as JSON, and the bytes of its response body. */
    private record Fetched(JsonNode json, long bytes) {}

    private Fetched get(URI uri, long deadline, long maxBytes, String namespace, String service) throws IOException {
        long remaining = deadline - System.nanoTime();
        if (remaining <= 0) {
            throw timedOut(uri);
        }
        HttpRequest.Builder request = HttpRequest.newBuilder(uri)
                .timeout(Duration.ofNanos(remaining))
                .header("Accept", "application/json")
                .GET();
        Optional<String> token = token();
        token.ifPresent(value -> request.header("Authorization", "Bearer " + value));
        // The request timeout ends the wait for the response headers only; the bounded get also
        // ends a body that trickles in.
        CompletableFuture<HttpResponse<byte[]>> pending =
                client.sendAsync(request.build(), info -> new LimitedBody(uri, maxBytes, maxBodyBytes));
        HttpResponse<byte[]> response;
        try {
            response = pending.get(remaining, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            pending.cancel(true);
            throw timedOut(uri);
        } catch (InterruptedException e) {
            pending.cancel(true);
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while listing EndpointSlices at " + uri);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof HttpTimeoutException) {
                throw timedOut(uri);
            }
            for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
                if (cause instanceof BodyTooLargeException tooLarge) {
                    throw new BodyTooLargeException(tooLarge.getMessage());
                }
            }
            if (e.getCause() instanceof SSLHandshakeException) {
                throw new IOException("the TLS handshake with the Kubernetes API at " + config.apiServer()
                        + " failed, so no request was sent; its certificate must be signed by a CA in "
                        + config.caFile() + ": " + e.getCause().getMessage(), e.getCause());
            }
            Throwable cause = e.getCause();
            String reason = cause.getMessage() == null ? "" : ": " + cause.getMessage();
            throw new IOException("GET " + uri + " failed with " + cause.getClass().getSimpleName() + reason, cause);
        }
        return new Fetched(body(response, namespace, service, token.isPresent()), response.body().length);
    }

    private JsonNode body(HttpResponse<byte[]> response, String namespace, String service, boolean sentToken)
            throws IOException {
        int status = response.statusCode();
        String list = "listing the EndpointSlices of service " + namespace + "/" + service;
        switch (status) {
            case 200 -> {
                try {
                    return JSON.readTree(response.body());
                } catch (JacksonException e) {
                    throw new IOException("the Kubernetes API responded to " + list + " with invalid JSON: "
                            + e.getOriginalMessage() + " (body: " + quote(response.body()) + ")", e);
                }
            }
            case 401 -> throw new IOException("the Kubernetes API rejected the credentials (401) when " + list + ": "
                    + (sentToken ? "the token in " + config.tokenFile() + " is not valid"
                            : "no token was sent, because " + (https ? config.tokenFile() + " does not exist"
                                    : "the API URL is http"))
                    + "; API message: " + statusMessage(response));
            case 403 -> throw new IOException("the Kubernetes API forbids " + list + " (403): the gateway's service "
                    + "account needs get, list and watch on endpointslices.discovery.k8s.io in namespace " + namespace
                    + " (a Role and RoleBinding); API message: " + statusMessage(response));
            case 404 -> throw new IOException("the Kubernetes API at " + config.apiServer() + " responded 404 Not "
                    + "Found when " + list + ": it has no discovery.k8s.io/v1 API (Kubernetes 1.21 or later has "
                    + "it), or the API URL is wrong; API message: " + statusMessage(response));
            case 410 -> throw new IOException("the Kubernetes API responded 410 Gone when " + list + ": the list "
                    + "changed too much between pages; the next discovery round lists again from the start");
            default -> throw new IOException("the Kubernetes API responded " + status + " when " + list
                    + "; API message: " + statusMessage(response));
        }
    }

    /** Returns the token, or empty when the API is reached over http or the token file does not exist. */
    private Optional<String> token() throws IOException {
        if (!https) {
            return Optional.empty();
        }
        String token;
        try {
            token = Files.readString(config.tokenFile()).strip();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new IOException("the Kubernetes token file " + config.tokenFile() + " cannot be read: " + e, e);
        }
        return token.isEmpty() ? Optional.empty() : Optional.of(token);
    }

    /** Returns the {@code message} of the API's Status response, else the start of the body. */
    private static String statusMessage(HttpResponse<byte[]> response) {
        try {
            JsonNode message = JSON.readTree(response.body()).path("message");
            if (message.isTextual()) {
                return quote(message.asText().getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            // Not a Status object: the body itself is quoted below.
        }
        return quote(response.body());
    }

    private static String quote(byte[] body) {
        String text = new String(body, StandardCharsets.UTF_8).strip();
        if (text.isEmpty()) {
            return "(empty)";
        }
        return text.length() <= MAX_QUOTED_CHARS ? text : text.substring(0, MAX_QUOTED_CHARS) + "...";
    }

    /** The failure of a list whose response bodies are larger than the limit. */
    private static final class BodyTooLargeException extends IOException {
        BodyTooLargeException(String message) {
            super(message);
        }
    }

    /**
     * Collects a response body up to {@code maxBytes}, the bytes the list has left. Past them it
     * cancels the response, which closes the connection, and fails with {@link BodyTooLargeException}.
     */
    private static final class LimitedBody implements HttpResponse.BodySubscriber<byte[]> {
        private final URI uri;
        private final long maxBytes;
        /** The limit of the whole list, for the message. */
        private final long listLimit;
        private final CompletableFuture<byte[]> body = new CompletableFuture<>();
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private Flow.Subscription subscription;

        LimitedBody(URI uri, long maxBytes, long listLimit) {
            this.uri = uri;
            this.maxBytes = maxBytes;
            this.listLimit = listLimit;
        }

        @Override
        public CompletionStage<byte[]> getBody() {
            return body;
        }

        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            this.subscription = subscription;
            subscription.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            if (body.isDone()) {
                return;
            }
            for (ByteBuffer buffer : buffers) {
                if (bytes.size() + (long) buffer.remaining() > maxBytes) {
                    subscription.cancel();
                    body.completeExceptionally(new BodyTooLargeException("listing EndpointSlices at " + uri
                            + " failed: the responses of the list, all pages together, are larger than the limit of "
                            + listLimit + " bytes"));
                    return;
                }
                byte[] chunk = new byte[buffer.remaining()];
                buffer.get(chunk);
                bytes.write(chunk, 0, chunk.length);
            }
        }

        @Override
        public void onError(Throwable error) {
            body.completeExceptionally(error);
        }

        @Override
        public void onComplete() {
            body.complete(bytes.toByteArray());
        }
    }

    private HttpTimeoutException timedOut(URI uri) {
        return new HttpTimeoutException("listing EndpointSlices at " + uri + " timed out after "
                + config.timeout().toMillis() + " ms");
    }
}
