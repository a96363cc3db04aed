package dev.levee.gateway;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.random.RandomGenerator;

/** A random source that returns the integers a test lists, in order, and fails when they run out. */
final class ScriptedRandom implements RandomGenerator {
    private final Deque<Integer> values = new ArrayDeque<>();

    ScriptedRandom(int... script) {
        for (int value : script) {
            values.add(value);
        }
    }

    @Override
    public int nextInt(int bound) {
        Integer value = values.poll();
        if (value == null) {
            throw new AssertionError("the test's random script ran out");
        }
        if (value < 0 || value >= bound) {
            throw new AssertionError("scripted value " + value + " is outside [0, " + bound + ")");
        }
        return value;
    }

    @Override
    public long nextLong() {
        throw new AssertionError("only nextInt(bound) is scripted");
    }
}
