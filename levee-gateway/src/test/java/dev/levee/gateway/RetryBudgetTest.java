package dev.levee.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RetryBudgetTest {
    private final ManualClock clock = new ManualClock();

    private static int retriesAllowed(RetryBudget budget, int tries) {
        int allowed = 0;
        for (int i = 0; i < tries; i++) {
            if (budget.tryRetry()) {
                allowed++;
            }
        }
        return allowed;
    }

    @Test
    void floorAllowsRetriesWithoutRequests() {
        RetryBudget budget = new RetryBudget(0.2, 1, clock);
        assertThat(budget.allowed()).isEqualTo(RetryBudget.WINDOW_SECONDS);
        assertThat(retriesAllowed(budget, 50)).isEqualTo(10);
        assertThat(budget.used()).isEqualTo(1.0);
    }

    @Test
    void ratioOfRecentRequestsAddsToTheFloor() {
        RetryBudget budget = new RetryBudget(0.2, 1, clock);
        for (int i = 0; i < 100; i++) {
            budget.recordRequest();
        }
        assertThat(budget.allowed()).isEqualTo(30);
        assertThat(retriesAllowed(budget, 100)).isEqualTo(30);
        assertThat(budget.retriesInWindow()).isEqualTo(30);
        budget.recordRequest();
        budget.recordRequest();
        budget.recordRequest();
        budget.recordRequest();
        assertThat(budget.tryRetry()).as("104 requests allow 30.8, so still 30").isFalse();
        budget.recordRequest();
        assertThat(budget.tryRetry()).as("105 requests allow 31").isTrue();
    }

    @Test
    void countsExpireAfterTheWindow() {
        RetryBudget budget = new RetryBudget(0.5, 0, clock);
        for (int i = 0; i < 10; i++) {
            budget.recordRequest();
        }
        assertThat(retriesAllowed(budget, 10)).isEqualTo(5);
        clock.advance(Duration.ofSeconds(5));
        for (int i = 0; i < 10; i++) {
            budget.recordRequest();
        }
        assertThat(retriesAllowed(budget, 10)).as("20 requests and 5 retries in the window").isEqualTo(5);
        clock.advance(Duration.ofSeconds(6));
        assertThat(budget.allowed()).as("only the second batch of requests is in the window").isEqualTo(5);
        assertThat(budget.retriesInWindow()).isEqualTo(5);
        assertThat(budget.tryRetry()).isFalse();
        clock.advance(Duration.ofSeconds(10));
        assertThat(budget.allowed()).isZero();
        assertThat(budget.retriesInWindow()).isZero();
        assertThat(budget.used()).isZero();
    }

    @Test
    void invalidSettingsAreRejected() {
        assertThatThrownBy(() -> new RetryBudget(1.5, 1, clock)).hasMessageContaining("ratio: 1.5");
        assertThatThrownBy(() -> new RetryBudget(0.2, -1, clock)).hasMessageContaining("floorPerSecond: -1");
    }
}
