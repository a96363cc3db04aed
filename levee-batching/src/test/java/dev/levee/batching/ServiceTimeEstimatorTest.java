package dev.levee.batching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class ServiceTimeEstimatorTest {

    @Test
    void unmeasuredEstimatorPredictsNothing() {
        ServiceTimeEstimator estimator = new ServiceTimeEstimator();
        assertThat(estimator.measured()).isFalse();
        assertThat(estimator.batchNanos(8)).isZero();
        assertThat(estimator.drainNanos(100, 8, 1)).isZero();
    }

    @Test
    void fitsFixedCostPlusCostPerRow() {
        ServiceTimeEstimator estimator = new ServiceTimeEstimator();
        // 2 ms per batch plus 0.5 ms per row, observed at a few batch sizes.
        for (int i = 0; i < 40; i++) {
            int rows = 1 + (i % 4) * 10;
            estimator.record(rows, 2_000_000L + 500_000L * rows);
        }
        assertThat((double) estimator.batchNanos(1)).isCloseTo(2_500_000, within(50_000.0));
        assertThat((double) estimator.batchNanos(32)).isCloseTo(18_000_000, within(200_000.0));
    }

    @Test
    void drainRunsFullBatchesThenTheRemainderOnParallelInstances() {
        ServiceTimeEstimator estimator = new ServiceTimeEstimator();
        for (int i = 0; i < 40; i++) {
            int rows = i % 2 == 0 ? 1 : 8;
            estimator.record(rows, 1_000_000L + 1_000_000L * rows);
        }
        // 20 rows in batches of 8: two full batches (9 ms each) and one of 4 rows (5 ms).
        assertThat((double) estimator.drainNanos(20, 8, 1)).isCloseTo(23_000_000, within(300_000.0));
        assertThat((double) estimator.drainNanos(20, 8, 2)).isCloseTo(11_500_000, within(150_000.0));
    }

    @Test
    void followsAServiceTimeThatChanges() {
        ServiceTimeEstimator estimator = new ServiceTimeEstimator();
        for (int i = 0; i < 50; i++) {
            estimator.record(4, 4_000_000);
        }
        for (int i = 0; i < 200; i++) {
            estimator.record(4, 12_000_000);
        }
        assertThat((double) estimator.batchNanos(4)).isCloseTo(12_000_000, within(500_000.0));
    }
}
