package dev.levee.cli;

import dev.levee.loadtest.Arrival;
import dev.levee.loadtest.LoadReport;
import dev.levee.loadtest.LoadStep;
import dev.levee.loadtest.OpenLoopGenerator;
import dev.levee.loadtest.RequestBodies;
import dev.levee.loadtest.StepResult;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.LongFunction;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code levee loadtest}: open-loop load at fixed or stepped arrival rates against one model. */
@Command(name = "loadtest", mixinStandardHelpOptions = true,
        description = {"Sends inference requests at fixed arrival rates, whatever the server does, and reports "
                + "throughput, rejections and latency measured from each request's intended send time.",
                "Each step sends rate x duration requests and then waits at most --timeout-ms for answers."})
final class LoadTestCommand implements Callable<Integer> {

    @Option(names = "--url", defaultValue = "http://127.0.0.1:8000",
            description = "Base URL of the node or gateway (default: ${DEFAULT-VALUE}).")
    String url;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", defaultValue = "minilm",
            description = "Model to call; minilm, breast_cancer and synthetic have built-in bodies (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--body", paramLabel = "FILE",
            description = "A v2 JSON request body to send every time instead of the built-in one; --model still "
                    + "names the model it is sent to.")
    Path body;

    @Option(names = "--rate", split = ",", required = true, paramLabel = "RPS",
            description = "Arrival rate in requests per second; a comma-separated list runs one step per rate.")
    List<Double> rates;

    @Option(names = "--duration-s", defaultValue = "30",
            description = "Length of each step in seconds (default: ${DEFAULT-VALUE}).")
    double durationSeconds;

    @Option(names = "--arrival", defaultValue = "POISSON",
            description = "Gaps between sends: UNIFORM or POISSON (default: ${DEFAULT-VALUE}).")
    Arrival arrival;

    @Option(names = "--slo-ms", defaultValue = "150",
            description = "Latency objective in milliseconds; goodput counts ok responses within it (default: ${DEFAULT-VALUE}).")
    double sloMillis;

    @Option(names = "--timeout-ms", defaultValue = "10000",
            description = "Client-side timeout of one request in milliseconds (default: ${DEFAULT-VALUE}).")
    long timeoutMillis;

    @Option(names = "--connections", defaultValue = "256",
            description = "Most HTTP/1.1 connections to keep open (default: ${DEFAULT-VALUE}).")
    int connections;

    @Option(names = "--seed", defaultValue = "1",
            description = "Seed of the Poisson gaps, so runs can be repeated (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--warmup-s", defaultValue = "3",
            description = "Seconds of load at the first rate before measuring, not reported; it opens connections "
                    + "and lets both JVMs compile their hot paths (default: ${DEFAULT-VALUE}).")
    double warmupSeconds;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON to FILE.")
    Path json;

    @Override
    public Integer call() throws Exception {
        if (!(durationSeconds > 0) || warmupSeconds < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--duration-s " + durationSeconds
                    + ", --warmup-s " + warmupSeconds + " (expected: a duration above 0 and a warm-up of 0 or more)");
        }
        LongFunction<byte[]> bodies;
        try {
            bodies = body == null ? RequestBodies.builtIn(model) : RequestBodies.fromFile(body);
        } catch (NoSuchFileException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--body: file " + body + " does not exist");
        }
        URI target = URI.create(url.replaceAll("/+$", "") + "/v2/models/" + model + "/infer");
        Duration duration = Duration.ofMillis(Math.round(durationSeconds * 1000));
        Duration slo = Duration.ofNanos(Math.round(sloMillis * 1e6));
        List<StepResult> results = new ArrayList<>();
        try (OpenLoopGenerator generator = new OpenLoopGenerator(target, connections, Duration.ofMillis(timeoutMillis))) {
            long sequence = 0;
            if (warmupSeconds > 0) {
                LoadStep warmup = new LoadStep(rates.getFirst(), Duration.ofMillis(Math.round(warmupSeconds * 1000)));
                System.err.printf("levee loadtest: warming up at %.1f requests/s for %.1f s%n", rates.getFirst(),
                        warmupSeconds);
                generator.run(warmup, arrival, bodies, slo, seed - 1, sequence);
                sequence += warmup.requests();
            }
            for (double rate : rates) {
                LoadStep step = new LoadStep(rate, duration);
                System.err.printf("levee loadtest: %s at %.1f requests/s for %.1f s%n", target, rate, durationSeconds);
                results.add(generator.run(step, arrival, bodies, slo, seed + sequence, sequence));
                sequence += step.requests();
            }
        }
        LoadReport.printTable(results, System.out);
        if (json != null) {
            LoadReport.writeJson(json, url, model, sloMillis, results);
        }
        return 0;
    }
}
