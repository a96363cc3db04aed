package dev.levee.gateway;

import static dev.levee.gateway.StandInKubernetesApi.endpoint;
import static dev.levee.gateway.StandInKubernetesApi.port;
import static dev.levee.gateway.StandInKubernetesApi.slice;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.LoggerFactory;

/** The gateway's Kubernetes API client against a stand-in API server: paging, token, TLS and failures. */
class KubernetesApiTest {
    /** The start of an EndpointSliceList body, up to its items. */
    private static final String LIST = "{\"kind\":\"EndpointSliceList\",\"items\":";
    @TempDir
    static Path certificateDirectory;
    private static TestCertificates certificates;
    private static Vertx vertx;

    @TempDir
    Path files;
    private final List<AutoCloseable> servers = new ArrayList<>();

    @BeforeAll
    static void createCertificates() throws Exception {
        certificates = TestCertificates.create(certificateDirectory);
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void closeVertx() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void stopServers() throws Exception {
        for (AutoCloseable server : servers) {
            server.close();
        }
    }

    private StandInKubernetesApi http() throws IOException {
        StandInKubernetesApi api = StandInKubernetesApi.http();
        servers.add(api);
        return api;
    }

    private StandInKubernetesApi https() throws IOException {
        StandInKubernetesApi api = StandInKubernetesApi.https(certificates.signedServer());
        servers.add(api);
        return api;
    }

    private KubernetesConfig config(StandInKubernetesApi api) {
        return KubernetesConfig.of(api.uri())
                .withTokenFile(files.resolve("token"))
                .withCaFile(certificates.caFile())
                .withNamespaceFile(files.resolve("namespace"))
                .withTimeout(Duration.ofSeconds(10));
    }

    private static NodeSource source(String spec, KubernetesConfig config) {
        return NodeSource.parse(spec, name -> {
            throw new AssertionError("no DNS entry in " + spec);
        }, () -> config);
    }

    /** Puts one slice per address into service {@code levee/nodes}, each with port http 8000. */
    private static void putNodes(StandInKubernetesApi api, String... addresses) {
        for (String address : addresses) {
            api.put(slice("levee", "nodes", "nodes-" + address, "IPv4", List.of(port("http", 8000)),
                    List.of(endpoint(address))));
        }
    }

    private static List<NodeAddress> at8000(String... addresses) {
        return Stream.of(addresses).map(address -> new NodeAddress(address, 8000)).toList();
    }

    @Test
    void listFollowsContinueTokens() throws Exception {
        StandInKubernetesApi api = http();
        api.maxPageSize(2);
        putNodes(api, "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5");
        api.put(slice("levee", "other", "other-1", "IPv4", List.of(port("http", 8000)), List.of(endpoint("10.9.0.1"))));
        api.put(slice("elsewhere", "nodes", "nodes-x", "IPv4", List.of(port("http", 8000)),
                List.of(endpoint("10.9.0.2"))));

        NodeSource source = source("k8s:levee/nodes", config(api));
        assertThat(source.dynamic()).isTrue();
        assertThat(source.resolve()).containsExactlyElementsOf(
                at8000("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"));

        List<StandInKubernetesApi.Request> requests = api.requests();
        assertThat(requests).hasSize(3);
        for (StandInKubernetesApi.Request request : requests) {
            assertThat(request.path()).isEqualTo("/apis/discovery.k8s.io/v1/namespaces/levee/endpointslices");
            assertThat(request.query()).containsEntry("labelSelector", "kubernetes.io/service-name=nodes");
            assertThat(request.query()).containsEntry("limit", "500");
        }
        assertThat(requests.get(0).query()).doesNotContainKey("continue");
        assertThat(requests.get(1).query()).containsEntry("continue", "page-after-2");
        assertThat(requests.get(2).query()).containsEntry("continue", "page-after-4");
    }

    @Test
    void namespaceDefaultsToThePodsOwn() throws Exception {
        StandInKubernetesApi api = http();
        putNodes(api, "10.0.0.1");
        Files.writeString(files.resolve("namespace"), "levee\n");
        assertThat(source("k8s:nodes", config(api)).resolve()).containsExactlyElementsOf(at8000("10.0.0.1"));

        Files.delete(files.resolve("namespace"));
        assertThatThrownBy(() -> source("k8s:nodes", config(api)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("namespace cannot be read from " + files.resolve("namespace"))
                .hasMessageContaining("k8s:NAMESPACE/SERVICE");
        assertThat(source("k8s:levee/nodes", config(api)).resolve()).as("a named namespace needs no file")
                .containsExactlyElementsOf(at8000("10.0.0.1"));
    }

    @Test
    void mixedEntriesResolveTogether() throws Exception {
        StandInKubernetesApi api = http();
        putNodes(api, "10.0.0.1");
        NodeSource source = NodeSource.parse("127.0.0.1:9000, dns:nodes.levee.test:9001, k8s:levee/nodes",
                name -> List.of(InetAddress.getByName("127.0.0.2")), () -> config(api));
        assertThat(source.resolve()).containsExactly(new NodeAddress("127.0.0.1", 9000),
                new NodeAddress("127.0.0.2", 9001), new NodeAddress("10.0.0.1", 8000));
    }

    @Test
    void tokenIsSentAsBearerAndReadAgain() throws Exception {
        StandInKubernetesApi api = https();
        putNodes(api, "10.0.0.1");
        NodeSource source = source("k8s:levee/nodes", config(api));
        Files.writeString(files.resolve("token"), "first-token\n");
        assertThat(source.resolve()).containsExactlyElementsOf(at8000("10.0.0.1"));
        Files.writeString(files.resolve("token"), "rotated-token");
        source.resolve();
        Files.delete(files.resolve("token"));
        source.resolve();

        List<String> sent = api.requests().stream().map(StandInKubernetesApi.Request::authorization).toList();
        assertThat(sent).containsExactly("Bearer first-token", "Bearer rotated-token", "");
    }

    @Test
    void plainHttpSendsNoToken() throws Exception {
        StandInKubernetesApi api = http();
        putNodes(api, "10.0.0.1");
        Files.writeString(files.resolve("token"), "secret-token");
        source("k8s:levee/nodes", config(api)).resolve();
        assertThat(api.requests()).singleElement()
                .extracting(StandInKubernetesApi.Request::authorization)
                .isEqualTo("");
    }

    @Test
    void serverNotSignedByTheCaIsRefused() throws Exception {
        StandInKubernetesApi trusted = https();
        putNodes(trusted, "10.0.0.1");
        assertThat(source("k8s:levee/nodes", config(trusted)).resolve()).as("the CA signed this server")
                .containsExactlyElementsOf(at8000("10.0.0.1"));

        StandInKubernetesApi impostor = StandInKubernetesApi.https(certificates.selfSignedServer());
        servers.add(impostor);
        putNodes(impostor, "10.6.6.6");
        Files.writeString(files.resolve("token"), "secret-token");
        NodeSource source = source("k8s:levee/nodes", config(impostor));
        assertThatThrownBy(source::resolve)
                .isInstanceOf(IOException.class)
                .hasMessageContaining("TLS handshake with the Kubernetes API at " + impostor.uri() + " failed")
                .hasMessageContaining("signed by a CA in " + certificates.caFile())
                .satisfies(error -> assertThat(causes(error)).anyMatch(SSLHandshakeException.class::isInstance));
        assertThat(impostor.requests()).as("no request, and so no token, reached the impostor").isEmpty();
    }

    private static List<Throwable> causes(Throwable error) {
        List<Throwable> causes = new ArrayList<>();
        for (Throwable cause = error; cause != null && causes.size() < 20; cause = cause.getCause()) {
            causes.add(cause);
        }
        return causes;
    }

    @Test
    void unreadableCaFileIsRejectedAtStart() throws Exception {
        StandInKubernetesApi api = https();
        Path missing = files.resolve("missing.crt");
        assertThatThrownBy(() -> source("k8s:levee/nodes", config(api).withCaFile(missing)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("CA file " + missing + " does not exist");
        Path notPem = Files.writeString(files.resolve("not.crt"), "not a certificate");
        assertThatThrownBy(() -> source("k8s:levee/nodes", config(api).withCaFile(notPem)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("CA file " + notPem);
    }

    /** A failure of the API, and a fragment of the message the gateway reports for it. */
    record Failure(String name, int status, String body, String expected) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> failures() {
        return Stream.of(
                new Failure("401", 401, StandInKubernetesApi.status(401, "Unauthorized", "Unauthorized"),
                        "rejected the credentials (401) when listing the EndpointSlices of service levee/nodes: the "
                                + "token in"),
                new Failure("403", 403, StandInKubernetesApi.status(403, "Forbidden", "endpointslices.discovery.k8s.io "
                        + "is forbidden: User \"system:serviceaccount:levee:gateway\" cannot list resource"),
                        "needs get, list and watch on endpointslices.discovery.k8s.io in namespace levee"),
                new Failure("404", 404, "404 page not found", "responded 404 Not Found"),
                new Failure("not JSON", 200, "<html>proxy error</html>", "invalid JSON"),
                new Failure("not a list", 200, "{\"kind\":\"Status\",\"code\":200}", "not an EndpointSliceList"),
                new Failure("endpoints not an array", 200,
                        LIST + "[{\"addressType\":\"IPv4\",\"endpoints\":\"10.0.0.1\"}]}",
                        "has endpoints that are not an array"),
                new Failure("500", 500, StandInKubernetesApi.status(500, "InternalError", "etcd unavailable"),
                        "responded 500"))
                .map(Arguments::of);
    }

    @ParameterizedTest
    @MethodSource("failures")
    void failureKeepsTheCurrentNodes(Failure failure) throws Exception {
        StandInKubernetesApi api = https();
        putNodes(api, "10.0.0.1", "10.0.0.2");
        Files.writeString(files.resolve("token"), "expired-token");
        NodeSource source = source("k8s:levee/nodes", config(api));
        api.fail(failure.status(), failure.body());
        assertThatThrownBy(source::resolve)
                .isInstanceOf(IOException.class)
                .hasMessageContaining(failure.expected());
        api.recover();
        assertDiscoveryKeepsNodes(api, source, () -> api.fail(failure.status(), failure.body()), failure.expected());
    }

    @Test
    void timeoutKeepsTheCurrentNodes() throws Exception {
        StandInKubernetesApi api = https();
        putNodes(api, "10.0.0.1", "10.0.0.2");
        // 2 s, not less: the first resolution, a TLS handshake on a cold JVM, must fit in it on a loaded machine.
        NodeSource source = source("k8s:levee/nodes", config(api).withTimeout(Duration.ofMillis(2000)));
        api.stall();
        long start = System.nanoTime();
        assertThatThrownBy(source::resolve)
                .isInstanceOf(HttpTimeoutException.class)
                .hasMessageContaining("timed out after 2000 ms");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        api.recover();
        assertDiscoveryKeepsNodes(api, source, api::stall, "timed out after 2000 ms");
    }

    @Test
    void oversizedResponseKeepsTheCurrentNodes() throws Exception {
        StandInKubernetesApi api = http();
        putNodes(api, "10.0.0.1", "10.0.0.2");
        KubernetesService service = new KubernetesService("levee", "nodes", new ServicePort.Unspecified());
        NodeSource source = new ServiceEndpoints(service, KubernetesApi.connect(config(api), 10_000));
        // Valid JSON, so only the size can make the list fail.
        String oversized = "{\"items\":[" + " ".repeat(100_000) + "]}";
        String expected = "larger than the limit of 10000 bytes";
        api.fail(200, oversized);
        assertThatThrownBy(source::resolve)
                .isInstanceOf(IOException.class)
                .hasMessageContaining(expected);
        api.recover();
        assertDiscoveryKeepsNodes(api, source, () -> api.fail(200, oversized), expected);
    }

    @Test
    void byteLimitCoversAllPages() throws Exception {
        StandInKubernetesApi api = http();
        api.maxPageSize(1);
        String[] addresses = new String[40];
        for (int i = 0; i < addresses.length; i++) {
            addresses[i] = "10.0.0." + (i + 1);
        }
        putNodes(api, addresses);
        KubernetesService service = new KubernetesService("levee", "nodes", new ServicePort.Unspecified());
        // Each page has one slice, well under the limit, but the 40 pages together pass it.
        NodeSource limited = new ServiceEndpoints(service, KubernetesApi.connect(config(api), 5_000));
        assertThatThrownBy(limited::resolve)
                .isInstanceOf(IOException.class)
                .hasMessageContaining("larger than the limit of 5000 bytes");
        NodeSource roomy = new ServiceEndpoints(service, KubernetesApi.connect(config(api), 1_000_000));
        assertThat(roomy.resolve()).hasSize(40);
    }

    /**
     * Resolves {@code source} through a {@link NodeDiscovery} once while the API works, then once
     * after {@code breakApi}, and checks that the nodes stay and the failure is logged.
     */
    private static void assertDiscoveryKeepsNodes(StandInKubernetesApi api, NodeSource source, Runnable breakApi,
            String expected) {
        NodeTable table = new NodeTable();
        NodeDiscovery discovery = new NodeDiscovery(vertx, source, table, Duration.ofSeconds(1), change -> {});
        discovery.resolveNow();
        List<Node> before = table.nodes();
        assertThat(before).extracting(Node::address).containsExactlyElementsOf(at8000("10.0.0.1", "10.0.0.2"));

        Logger logger = (Logger) LoggerFactory.getLogger(NodeDiscovery.class);
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        log.start();
        logger.addAppender(log);
        try {
            breakApi.run();
            discovery.resolveNow();
        } finally {
            logger.detachAppender(log);
            api.recover();
        }
        assertThat(table.nodes()).as("the same nodes, state and all").containsExactlyElementsOf(before);
        assertThat(log.list).singleElement().satisfies(event -> {
            assertThat(event.getLevel()).isEqualTo(Level.WARN);
            assertThat(event.getFormattedMessage()).contains("keeping the 2 current nodes").contains(expected);
        });
    }

    @Test
    void inClusterSettingsComeFromTheEnvironment() {
        KubernetesConfig config = KubernetesConfig.inCluster(
                Map.of("KUBERNETES_SERVICE_HOST", "10.96.0.1", "KUBERNETES_SERVICE_PORT", "443"));
        assertThat(config.apiServer()).hasToString("https://10.96.0.1:443");
        assertThat(config.tokenFile()).isEqualTo(Path.of("/var/run/secrets/kubernetes.io/serviceaccount/token"));
        assertThat(config.caFile()).isEqualTo(Path.of("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"));
        assertThat(config.namespaceFile())
                .isEqualTo(Path.of("/var/run/secrets/kubernetes.io/serviceaccount/namespace"));

        assertThat(KubernetesConfig.inCluster(Map.of("KUBERNETES_SERVICE_HOST", "fd00::1")).apiServer())
                .hasToString("https://[fd00::1]:443");
        assertThatThrownBy(() -> KubernetesConfig.inCluster(Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("KUBERNETES_SERVICE_HOST is not set");
        assertThatThrownBy(() -> NodeSource.parse("k8s:levee/nodes", HostResolver.SYSTEM,
                () -> KubernetesConfig.inCluster(Map.of())))
                .hasMessageContaining("--kubernetes-api");
    }

    @Test
    void apiUrlMustBeHttpOrHttps() {
        assertThatThrownBy(() -> KubernetesConfig.of(URI.create("ftp://10.0.0.1")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'ftp://10.0.0.1' is invalid");
        assertThatThrownBy(() -> KubernetesConfig.of(URI.create("/relative")))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
