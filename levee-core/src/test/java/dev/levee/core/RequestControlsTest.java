package dev.levee.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RequestControlsTest {

    @Test
    void timeoutParameterIsReadInMicroseconds() {
        assertThat(RequestControls.timeoutNanos(Map.of("timeout", 1500L))).hasValue(1_500_000L);
    }

    @Test
    void timeoutBeyondALongIsOneDayNotAWrappedValue() {
        BigInteger huge = new BigInteger("18446744073709551621");
        assertThat(RequestControls.timeoutNanos(Map.of("timeout", huge))).hasValue(TimeUnit.DAYS.toNanos(1));
    }

    @Test
    void negativeOrFractionalTimeoutIsRejected() {
        assertThatThrownBy(() -> RequestControls.timeoutNanos(Map.of("timeout", -1L)))
                .isInstanceOf(InferenceException.class).hasMessageContaining("timeout");
        assertThatThrownBy(() -> RequestControls.timeoutNanos(Map.of("timeout", 1.5)))
                .isInstanceOf(InferenceException.class).hasMessageContaining("timeout");
        assertThatThrownBy(() -> RequestControls.timeoutNanos(Map.of("timeout", new BigInteger("-99999999999999999999"))))
                .isInstanceOf(InferenceException.class).hasMessageContaining("timeout");
    }

    @Test
    void tensorWhoseDataDisagreesWithItsDatatypeCannotBeBuilt() {
        TensorData ints = new TensorData.FixedWidth(DataType.INT32, java.nio.ByteBuffer.allocate(4));
        assertThatThrownBy(() -> new Tensor("x", DataType.FP32, new long[] {1}, ints))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Tensor("x", DataType.FP32, new long[] {1}, new TensorData.Strings(new byte[1][])))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
