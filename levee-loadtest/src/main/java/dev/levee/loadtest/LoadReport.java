package dev.levee.loadtest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Writes load test results as a console table and as JSON. */
public final class LoadReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private LoadReport() {}

    public static void printTable(List<StepResult> steps, PrintStream out) {
        out.printf(Locale.ROOT, "%10s %9s %8s %8s %9s %7s %10s %8s %8s %8s %9s %9s%n", "offered/s", "sent/s", "sent",
                "ok", "rejected", "errors", "goodput/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "rej p99");
        for (StepResult s : steps) {
            out.printf(Locale.ROOT, "%10.1f %9.1f %8d %8d %9d %7d %10.1f %8.2f %8.2f %8.2f %9.2f %9.2f%n",
                    s.offeredRps(), s.sentRps(), s.sent(), s.ok(), s.rejectedTotal(), s.errorTotal(), s.goodputRps(),
                    s.okP50Ms(), s.okP90Ms(), s.okP99Ms(), s.okP999Ms(), s.rejectedP99Ms());
            if (!s.rejected().isEmpty() || !s.errors().isEmpty()) {
                out.println("           rejected by status " + s.rejected() + ", errors by kind " + s.errors());
            }
        }
    }

    /** Writes {@code {"url":..., "model":..., "steps":[...]}} with snake_case fields. */
    public static void writeJson(Path file, String url, String model, double sloMs, List<StepResult> steps)
            throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("url", url);
        root.put("model", model);
        root.put("slo_ms", sloMs);
        ArrayNode array = root.putArray("steps");
        for (StepResult s : steps) {
            ObjectNode step = array.addObject();
            step.put("offered_rps", s.offeredRps());
            step.put("sent_rps", s.sentRps());
            step.put("duration_s", s.durationSeconds());
            step.put("sent", s.sent());
            step.put("ok", s.ok());
            ObjectNode rejected = step.putObject("rejected");
            s.rejected().forEach((status, count) -> rejected.put(Integer.toString(status), count));
            step.put("rejected_total", s.rejectedTotal());
            ObjectNode errors = step.putObject("errors");
            s.errors().forEach(errors::put);
            step.put("errors_total", s.errorTotal());
            step.put("goodput_rps", s.goodputRps());
            ObjectNode latency = step.putObject("latency_ms");
            latency.put("p50", s.okP50Ms());
            latency.put("p90", s.okP90Ms());
            latency.put("p99", s.okP99Ms());
            latency.put("p99_9", s.okP999Ms());
            latency.put("max", s.okMaxMs());
            step.put("rejected_p99_ms", s.rejectedP99Ms());
        }
        JSON.writeValue(file.toFile(), root);
    }
}
