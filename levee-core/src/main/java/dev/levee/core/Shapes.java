package dev.levee.core;

import java.util.Arrays;

/** Arithmetic on tensor shapes, where {@code -1} marks a dimension of variable size. */
public final class Shapes {
    private Shapes() {}

    /**
     * Returns the element count of a concrete shape, or -1 if it overflows a {@code long} or has a
     * negative dimension. A scalar (empty shape) has one element.
     */
    public static long elementCount(long[] shape) {
        long count = 1;
        for (long dim : shape) {
            if (dim < 0) {
                return -1;
            }
            try {
                count = Math.multiplyExact(count, dim);
            } catch (ArithmeticException overflow) {
                return -1;
            }
        }
        return count;
    }

    /** Returns whether a concrete shape fits a model's declared shape, where -1 matches any size. */
    public static boolean matches(long[] declared, long[] actual) {
        if (declared.length != actual.length) {
            return false;
        }
        for (int i = 0; i < declared.length; i++) {
            if (declared[i] >= 0 && declared[i] != actual[i]) {
                return false;
            }
        }
        return true;
    }

    /** Dimensions written out by {@link #format}; longer shapes are cut, so messages stay short. */
    private static final int MAX_FORMATTED_DIMENSIONS = 16;

    /** Formats a shape as {@code [2, 384]}; a shape of more than 16 dimensions is cut after the 16th. */
    public static String format(long[] shape) {
        if (shape.length <= MAX_FORMATTED_DIMENSIONS) {
            return Arrays.toString(shape);
        }
        String head = Arrays.toString(Arrays.copyOf(shape, MAX_FORMATTED_DIMENSIONS));
        return head.substring(0, head.length() - 1) + ", ... (" + shape.length + " dimensions)]";
    }
}
