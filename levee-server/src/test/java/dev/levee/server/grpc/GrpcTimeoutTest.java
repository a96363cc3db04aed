package dev.levee.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.levee.core.ErrorKind;
import dev.levee.core.InferenceException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class GrpcTimeoutTest {

    @ParameterizedTest
    @CsvSource({
            "1H, 3600000000000",
            "2M, 120000000000",
            "3S, 3000000000",
            "250m, 250000000",
            "750u, 750000",
            "99999999n, 99999999",
            "0m, 0"})
    void parsesEveryUnitToNanoseconds(String header, long expectedNanos) {
        assertThat(GrpcTimeout.parseNanos(header)).hasValue(expectedNanos);
    }

    @Test
    void keepsSubMillisecondPrecision() {
        assertThat(GrpcTimeout.parseNanos("500u")).hasValue(TimeUnit.MICROSECONDS.toNanos(500));
    }

    @Test
    void saturatesHugeValues() {
        assertThat(GrpcTimeout.parseNanos("99999999H")).hasValue(Long.MAX_VALUE);
    }

    @Test
    void absentHeaderIsNoTimeout() {
        assertThat(GrpcTimeout.parseNanos(null)).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "m", "10", "10x", "1.5S", "-1S", "123456789m", " 1S", "1s"})
    void rejectsMalformedHeader(String header) {
        assertThatThrownBy(() -> GrpcTimeout.parseNanos(header))
                .isInstanceOfSatisfying(InferenceException.class,
                        e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT))
                .hasMessageContaining("grpc-timeout header '" + header + "' is invalid");
    }
}
