package dev.levee.server;

import static dev.levee.server.Requests.SYNTHETIC_INFER;
import static dev.levee.server.Requests.synthetic;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelConfig;
import dev.levee.runtime.SyntheticModel;
import dev.levee.server.TestNode.Reply;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The rows of the error contract that only REST has, against a real node with the synthetic model;
 * the rows that every transport shares run in {@link ProtocolSuiteTest}. After every rejected
 * request a valid one must still succeed.
 */
class RestContractTest {
    private static final float FAIL_MARKER = -7f;
    private static final long MAX_BODY_BYTES = 4096;

    private TestNode node;

    private TestNode start(SyntheticModel.ServiceTime serviceTime, int maxBatchSize, int maxQueueSize)
            throws Exception {
        ModelConfig config = ModelConfig.defaults("synthetic", "synthetic")
                .withMaxBatchSize(maxBatchSize)
                .withMaxQueueSize(maxQueueSize)
                .withMaxQueueDelay(Duration.ofMillis(1));
        SyntheticModel model = new SyntheticModel("synthetic", "1", serviceTime, FAIL_MARKER);
        node = TestNode.start(NodeOptions.defaults().withMaxBodyBytes(MAX_BODY_BYTES),
                List.of(new LoadedModel(config, "1", model)));
        return node;
    }

    private TestNode start() throws Exception {
        return start(SyntheticModel.ServiceTime.sleeping(0), 8, 64);
    }

    @AfterEach
    void stop() {
        if (node != null) {
            node.close();
        }
    }

    private void assertValidRequestSucceeds() {
        Reply reply = node.post(SYNTHETIC_INFER, synthetic(1.5f));
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        assertThat(reply.json().at("/outputs/0/data/0").floatValue()).isEqualTo(1.5f);
    }

    @Test
    void dataBeforeDatatypeIsDecodedTheSame() throws Exception {
        start();
        String body = "{\"inputs\":[{\"data\":[5,6],\"shape\":[1,2],\"name\":\"INPUT0\",\"datatype\":\"FP32\"}]}";
        Reply reply = node.post(SYNTHETIC_INFER, body);
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        assertThat(reply.json().at("/outputs/0/data").toString()).isEqualTo("[5.0,6.0]");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            malformed JSON         | {"inputs": [                                                                              | not valid JSON
            not an object          | [1,2,3]                                                                                   | JSON object
            no inputs              | {"id": "x"}                                                                               | no 'inputs'
            unknown datatype       | {"inputs":[{"name":"INPUT0","datatype":"FP17","shape":[1,1],"data":[1]}]}               | unknown datatype 'FP17'
            negative dimension     | {"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[-1,2],"data":[1,2]}]}            | non-negative integer
            string in FP32 data    | {"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,1],"data":["a"]}]}             | element 0 is a string
            missing data           | {"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,1]}]}                          | no 'data'
            duplicate input        | {"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,1],"data":[1]},{"name":"INPUT0","datatype":"FP32","shape":[1,1],"data":[1]}]} | more than once
            batch over maximum     | {"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[9,1],"data":[1,2,3,4,5,6,7,8,9]}]} | exceeds the max batch size 8
            null parameter         | {"parameters":{"a":null},"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,1],"data":[1]}]} | request parameter 'a' is null
            id not a string        | {"id":5,"inputs":[]}                                                                      | 'id' must be a string
            trailing content       | {"inputs":[]} {}                                                                          | content after
            """)
    void badRequestGets400NamingTheProblem(String label, String body, String expectedMessage) throws Exception {
        start();
        Reply reply = node.post(SYNTHETIC_INFER, body);
        assertThat(reply.status()).as(reply.body()).isEqualTo(400);
        assertThat(reply.header("Content-Type")).isEqualTo("application/json");
        assertThat(reply.json().get("error").asText()).contains(expectedMessage);
        assertValidRequestSucceeds();
    }

    @Test
    void unknownModelVersionOrPathGets404() throws Exception {
        start();
        assertThat(node.post("/v2/models/synthetic/versions/7/infer", synthetic(1)).status()).isEqualTo(404);
        assertThat(node.get("/v2/models/nope").status()).isEqualTo(404);
        assertThat(node.get("/v2/models/synthetic/versions/7/ready").status()).isEqualTo(404);
        assertThat(node.get("/v3/anything").status()).isEqualTo(404);
        assertValidRequestSucceeds();
    }

    @Test
    void oversizedBodyGets413() throws Exception {
        start();
        Reply reply = node.post(SYNTHETIC_INFER, synthetic(1, 2000));
        assertThat(reply.status()).isEqualTo(413);
        assertThat(reply.json().get("error").asText()).contains("exceeds the limit of " + MAX_BODY_BYTES);
        assertValidRequestSucceeds();
    }

    @Test
    void wrongContentTypeGets415() throws Exception {
        start();
        Reply reply = node.post(SYNTHETIC_INFER, synthetic(1), "text/csv");
        assertThat(reply.status()).isEqualTo(415);
        assertThat(reply.json().get("error").asText()).contains("text/csv");
        assertThat(node.post(SYNTHETIC_INFER, synthetic(1.5f), "application/json; charset=utf-8").status())
                .isEqualTo(200);
        assertValidRequestSucceeds();
    }

    @Test
    void wrongMethodGets405() throws Exception {
        start();
        Reply reply = node.get(SYNTHETIC_INFER);
        assertThat(reply.status()).isEqualTo(405);
        assertThat(reply.header("Allow")).isEqualTo("POST");
        assertValidRequestSucceeds();
    }

    @Test
    void modelFailureGets500ForThatRequestOnly() throws Exception {
        Gate gate = new Gate();
        start(gate, 8, 64);
        CompletableFuture<Reply> failing = node.postAsync(SYNTHETIC_INFER, synthetic(FAIL_MARKER));
        CompletableFuture<Reply> healthy = node.postAsync(SYNTHETIC_INFER, synthetic(3f));
        gate.awaitStarted(1);
        gate.openForever();
        Reply failed = failing.get(30, TimeUnit.SECONDS);
        assertThat(failed.status()).isEqualTo(500);
        assertThat(failed.json().get("error").asText()).contains("failed on a marked input");
        assertThat(failed.body()).doesNotContain("Exception").doesNotContain("at dev.");
        Reply ok = healthy.get(30, TimeUnit.SECONDS);
        assertThat(ok.status()).isEqualTo(200);
        assertThat(ok.json().at("/outputs/0/data/0").floatValue()).isEqualTo(3f);
        assertValidRequestSucceeds();
    }

    @Test
    void healthAndMetadataEndpointsDescribeTheNode() throws Exception {
        start();
        assertThat(node.get("/v2/health/live").json().get("live").asBoolean()).isTrue();
        assertThat(node.get("/v2/health/ready").status()).isEqualTo(200);
        assertThat(node.get("/v2").json().get("name").asText()).isEqualTo("levee");
        JsonNode metadata = node.get("/v2/models/synthetic").json();
        assertThat(metadata.at("/inputs/0/name").asText()).isEqualTo("INPUT0");
        assertThat(metadata.at("/inputs/0/datatype").asText()).isEqualTo("FP32");
        assertThat(metadata.at("/inputs/0/shape").toString()).isEqualTo("[-1,-1]");
        assertThat(node.get("/v2/models/synthetic/versions/1").json().get("versions").toString()).isEqualTo("[\"1\"]");
        assertThat(node.get("/v2/models/synthetic/ready").json().get("ready").asBoolean()).isTrue();
    }

    @Test
    void drainingNodeIsNotReadyAndRejectsNewWork() throws Exception {
        start();
        node.node.state().drain();
        assertThat(node.get("/v2/health/ready").status()).isEqualTo(503);
        assertThat(node.get("/v2/health/live").status()).isEqualTo(200);
        Reply reply = node.post(SYNTHETIC_INFER, synthetic(1));
        assertThat(reply.status()).isEqualTo(503);
        assertThat(reply.header("Retry-After")).isNotNull();
    }

    @Test
    void metricsCountRequestsByOutcome() throws Exception {
        start();
        assertValidRequestSucceeds();
        node.post(SYNTHETIC_INFER, "{");
        for (int i = 0; i < 3; i++) {
            node.post("/v2/models/made-up-" + i + "/infer", synthetic(1));
        }
        String metrics = node.get("/metrics").body();
        // Unknown model names share one label, so clients cannot create metric series at will.
        assertThat(metrics).contains("levee_requests_total{model=\"(unknown)\",outcome=\"not_found\"} 3.0");
        assertThat(metrics).doesNotContain("made-up");
        assertThat(metrics).contains("levee_requests_total{model=\"synthetic\",outcome=\"success\"} 1.0");
        assertThat(metrics).contains("levee_requests_total{model=\"synthetic\",outcome=\"invalid_argument\"} 1.0");
        assertThat(metrics).contains("levee_queue_depth{model=\"synthetic\",version=\"1\"}");
        assertThat(metrics).contains("levee_batch_size_count{model=\"synthetic\"} 1");
        assertThat(metrics).contains("levee_instance_busy_seconds_total{model=\"synthetic\"}");
        assertThat(metrics).contains("levee_request_duration_seconds_bucket");
    }

    @Test
    void http2CleartextRequestIsServed() throws Exception {
        start();
        var client = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_2).build();
        var response = client.send(HttpRequest.newBuilder(node.uri(SYNTHETIC_INFER))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(synthetic(2.5f))).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.version()).isEqualTo(java.net.http.HttpClient.Version.HTTP_2);
    }
}
