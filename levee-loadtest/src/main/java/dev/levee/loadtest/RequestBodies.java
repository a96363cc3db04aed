package dev.levee.loadtest;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.io.IOException;
import java.util.function.LongFunction;

/** Request bodies by sequence number: built in for Levee's models, or one file sent every time. */
public final class RequestBodies {
    private RequestBodies() {}

    /**
     * The built-in body for {@code model}: distinct short sentences for minilm, a row of the
     * breast-cancer data for breast_cancer, two floats for the synthetic test model.
     */
    public static LongFunction<byte[]> builtIn(String model) {
        return switch (model) {
            case "minilm" -> n -> ("{\"inputs\":[{\"name\":\"text\",\"datatype\":\"BYTES\",\"shape\":[1],"
                    + "\"data\":[\"Visitor " + n + " checks the exam results page at nine.\"]}]}")
                    .getBytes(StandardCharsets.UTF_8);
            case "breast_cancer" -> {
                byte[] body = ("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,30],\"data\":["
                        + "17.99,10.38,122.8,1001.0,0.1184,0.2776,0.3001,0.1471,0.2419,0.07871,1.095,0.9053,"
                        + "8.589,153.4,0.006399,0.04904,0.05373,0.01587,0.03003,0.006193,25.38,17.33,184.6,"
                        + "2019.0,0.1622,0.6656,0.7119,0.2654,0.4601,0.1189]}]}").getBytes(StandardCharsets.UTF_8);
                yield n -> body;
            }
            case "synthetic" -> n -> ("{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP32\",\"shape\":[1,2],"
                    + "\"data\":[" + (n % 1000) + ",1]}]}").getBytes(StandardCharsets.UTF_8);
            default -> throw new IllegalArgumentException("no built-in body for model '" + model
                    + "' (built in: minilm, breast_cancer, synthetic); pass --body FILE");
        };
    }

    /** The same body, read once from {@code file}, for every request. */
    public static LongFunction<byte[]> fromFile(Path file) throws IOException {
        byte[] body = Files.readAllBytes(file);
        return n -> body;
    }
}
