package dev.levee.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.levee.core.InferenceException;
import io.vertx.core.buffer.Buffer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RequestTimeoutTest {

    private static Buffer json(String text) {
        return Buffer.buffer(text);
    }

    @Test
    void headerIsInMilliseconds() {
        assertThat(RequestTimeout.fromHeader(null)).isEmpty();
        assertThat(RequestTimeout.fromHeader("250")).hasValue(TimeUnit.MILLISECONDS.toNanos(250));
        assertThatThrownBy(() -> RequestTimeout.fromHeader("soon"))
                .isInstanceOf(InferenceException.class)
                .hasMessageContaining("Levee-Timeout-Ms");
    }

    @Test
    void parameterIsInMicroseconds() {
        String body = "{\"id\":\"a\",\"inputs\":[{\"name\":\"x\",\"data\":[1,2,{\"timeout\":1}]}],"
                + "\"parameters\":{\"priority\":\"low\",\"timeout\":50000}}";
        assertThat(RequestTimeout.fromBody(json(body), -1)).hasValue(TimeUnit.MICROSECONDS.toNanos(50_000));
    }

    @Test
    void bodyWithoutTimeoutOrNotJsonYieldsNone() {
        assertThat(RequestTimeout.fromBody(json("{\"inputs\":[],\"parameters\":{\"a\":{\"timeout\":3}}}"), -1))
                .as("only the top-level parameter counts")
                .isEmpty();
        assertThat(RequestTimeout.fromBody(json("{\"inputs\":"), -1)).isEmpty();
        assertThat(RequestTimeout.fromBody(json("[1,2]"), -1)).isEmpty();
        assertThat(RequestTimeout.fromBody(Buffer.buffer(), -1)).isEmpty();
    }

    @Test
    void invalidParameterIsRejectedAsTheNodeWould() {
        assertThatThrownBy(() -> RequestTimeout.fromBody(json("{\"parameters\":{\"timeout\":-5}}"), -1))
                .isInstanceOf(InferenceException.class)
                .hasMessageContaining("timeout");
        assertThatThrownBy(() -> RequestTimeout.fromBody(json("{\"parameters\":{\"timeout\":\"5\"}}"), -1))
                .isInstanceOf(InferenceException.class);
        assertThatThrownBy(() -> RequestTimeout.fromBody(json("{\"parameters\":{\"timeout\":1.5}}"), -1))
                .isInstanceOf(InferenceException.class);
    }

    @Test
    void binaryBodyReadsJsonPartOnly() {
        String header = "{\"parameters\":{\"timeout\":2000}}";
        Buffer body = Buffer.buffer(header).appendBytes(new byte[] {0x7b, 0x00, (byte) 0xff, 0x22});
        assertThat(RequestTimeout.fromBody(body, header.length())).hasValue(TimeUnit.MICROSECONDS.toNanos(2000));
    }
}
