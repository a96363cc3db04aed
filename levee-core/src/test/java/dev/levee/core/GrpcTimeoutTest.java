package dev.levee.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
    @CsvSource({
            "0, 0n",
            "99999999, 99999999n",
            "100000000, 100000u",
            "1999999999, 1999999u",
            "30000000000, 30000000u",
            "100000000000, 100000m",
            "86400000000000, 86400000m"})
    void formatsTheFinestUnitThatFits(long nanos, String expected) {
        assertThat(GrpcTimeout.format(nanos)).isEqualTo(expected);
        assertThat(GrpcTimeout.parseNanos(expected).getAsLong()).isLessThanOrEqualTo(nanos);
    }

    @Test
    void formatsHugeTimeoutAsTheLargestValue() {
        assertThat(GrpcTimeout.format(Long.MAX_VALUE)).isEqualTo("2562047H");
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
