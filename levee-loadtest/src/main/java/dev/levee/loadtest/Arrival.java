package dev.levee.loadtest;

import java.util.SplittableRandom;

/** How the gaps between intended send times are drawn. */
public enum Arrival {
    /** Equal gaps of 1/rate. */
    UNIFORM,
    /** Exponentially distributed gaps with mean 1/rate, as independent users arrive. */
    POISSON;

    long gapNanos(double ratePerSecond, SplittableRandom random) {
        double mean = 1e9 / ratePerSecond;
        return switch (this) {
            case UNIFORM -> (long) mean;
            case POISSON -> (long) (-Math.log(1.0 - random.nextDouble()) * mean);
        };
    }
}
