package dev.levee.server;

/** Request bodies for the synthetic model, whose input INPUT0 is FP32 of shape [-1, -1]. */
final class Requests {
    static final String SYNTHETIC_INFER = "/v2/models/synthetic/infer";

    private Requests() {}

    /** One row of {@code width} copies of {@code value}. */
    static String synthetic(float value, int width) {
        StringBuilder data = new StringBuilder();
        for (int i = 0; i < width; i++) {
            data.append(i == 0 ? "" : ",").append(value);
        }
        return "{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP32\",\"shape\":[1," + width + "],\"data\":["
                + data + "]}]}";
    }

    static String synthetic(float value) {
        return synthetic(value, 2);
    }
}
