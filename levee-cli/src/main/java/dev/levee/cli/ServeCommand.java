package dev.levee.cli;

import dev.levee.batching.AdmissionPolicy;
import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelConfig;
import dev.levee.runtime.ModelRepository;
import dev.levee.server.LeveeNode;
import dev.levee.server.ModelControlMode;
import dev.levee.server.NodeOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.UnaryOperator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code levee serve}: runs one node until SIGTERM or Ctrl-C, then drains (see
 * {@link LeveeNode#drain(Duration)}) and exits.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Starts a node serving the built-in models, or the models of a repository.")
final class ServeCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--port", defaultValue = "8000",
            description = "TCP port for REST over HTTP/1.1 and HTTP/2 cleartext, and for gRPC over HTTP/2 cleartext; "
                    + "0 picks a free port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--grpc-port", defaultValue = "-1",
            description = "A second TCP port that serves gRPC alone; 0 picks a free port, -1 opens none "
                    + "(default: ${DEFAULT-VALUE}). Triton serves gRPC on 8001, the port that tritonclient's "
                    + "examples use.")
    int grpcPort;

    @Option(names = "--host", defaultValue = "0.0.0.0",
            description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--model-repository", paramLabel = "DIR",
            description = "Folder with one subfolder per model; without it the built-in models minilm and "
                    + "breast_cancer are served.")
    Path modelRepository;

    @Option(names = "--model-control", defaultValue = "none",
            description = {"Whether clients may load and unload models of the repository (default: ${DEFAULT-VALUE}):",
                    "none: every model of the repository loads at start, and load and unload requests are rejected;",
                    "explicit: POST /v2/repository/models/NAME/load and /unload (and their gRPC counterparts) "
                            + "load and unload models; needs --model-repository."})
    String modelControl;

    @Option(names = "--load-model", paramLabel = "NAME",
            description = "With --model-control explicit, a model to load at start; repeat it for more. Without "
                    + "it every model of the repository loads at start.")
    List<String> loadModels = new ArrayList<>();

    @Option(names = "--max-body-bytes", defaultValue = "67108864",
            description = "Largest REST request body or gRPC request message in bytes; larger ones get 413 "
                    + "or RESOURCE_EXHAUSTED (default: ${DEFAULT-VALUE}).")
    long maxBodyBytes;

    @Option(names = "--admission", defaultValue = "predictive",
            description = {"How each model's queue admits requests (default: ${DEFAULT-VALUE}):",
                    "predictive: reject at once when the queued work would exceed the model's target queue delay "
                            + "or the request's deadline;",
                    "queue-size: reject only when the queue holds max_queue_size requests;",
                    "off: queue up to " + UNBOUNDED_QUEUE + " requests whatever the delay (a naive baseline)."})
    String admission;

    @Option(names = "--max-batch-size", paramLabel = "N",
            description = "Max sentences per request and per batch of the built-in minilm model (default: "
                    + ModelConfig.DEFAULT_MAX_BATCH_SIZE + ", with batches formed up to 8). 0 turns batching "
                    + "off, so each request runs alone with all its sentences; 1 also runs requests alone but "
                    + "rejects any with more than one sentence. With --model-repository, set max_batch_size in "
                    + "each model's config.json instead.")
    Integer maxBatchSize;

    @Option(names = "--drain-seconds", defaultValue = "5",
            description = "On SIGTERM or Ctrl-C, seconds to report not ready while still admitting requests, "
                    + "so load balancers stop sending first; then new requests get 503 and queued ones finish "
                    + "(default: ${DEFAULT-VALUE}).")
    long drainSeconds;

    /** Set by {@code levee cluster}, so a node it started does not outlive it even when it is killed. */
    @Option(names = "--exit-with-parent", hidden = true,
            description = "Drain and exit when the parent process exits.")
    boolean exitWithParent;

    /** Queue size that stands for "no limit" when admission is off, still bounded so memory is. */
    static final int UNBOUNDED_QUEUE = 1_000_000;

    @Override
    public Integer call() throws Exception {
        if (drainSeconds < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--drain-seconds: " + drainSeconds + " (expected: >= 0)");
        }
        AdmissionPolicy policy = switch (admission) {
            case "predictive" -> AdmissionPolicy.predictive();
            case "queue-size", "off" -> AdmissionPolicy.boundedQueue();
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "--admission: '" + admission + "' (expected: predictive, queue-size or off)");
        };

        ModelControlMode mode = switch (modelControl) {
            case "none" -> ModelControlMode.NONE;
            case "explicit" -> ModelControlMode.EXPLICIT;
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "--model-control: '" + modelControl + "' (expected: none or explicit)");
        };
        if (mode == ModelControlMode.EXPLICIT && modelRepository == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--model-control explicit needs "
                    + "--model-repository: the built-in models cannot be loaded or unloaded");
        }
        if (!loadModels.isEmpty() && mode != ModelControlMode.EXPLICIT) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--load-model needs --model-control "
                    + "explicit: without it every model of the repository loads at start");
        }

        UnaryOperator<ModelConfig> adjustConfig = admission.equals("off")
                ? config -> config.withMaxQueueSize(UNBOUNDED_QUEUE)
                : UnaryOperator.identity();
        NodeOptions options = NodeOptions.defaults().withHost(host).withPort(port).withGrpcPort(grpcPort)
                .withMaxBodyBytes(maxBodyBytes).withAdmission(policy);
        LeveeNode node;
        if (modelRepository == null) {
            List<LoadedModel> models = ModelRepository.loadBuiltIns(miniLmConfig()).stream()
                    .map(m -> new LoadedModel(adjustConfig.apply(m.config()), m.version(), m.model()))
                    .toList();
            node = LeveeNode.start(options, models);
        } else {
            node = LeveeNode.start(options, ModelRepository.open(checkNoBuiltInSettings(modelRepository), adjustConfig),
                    mode, loadModels);
        }

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("levee-shutdown").unstarted(() -> {
            node.drain(Duration.ofSeconds(drainSeconds));
            stopped.countDown();
        }));
        if (exitWithParent) {
            // System.exit runs the shutdown hook, so the node drains as on SIGTERM.
            ProcessHandle.current().parent().ifPresent(parent -> parent.onExit().thenRun(() -> System.exit(0)));
        }
        stopped.await();
        return 0;
    }

    private ModelConfig miniLmConfig() {
        ModelConfig config = ModelRepository.miniLmConfig();
        if (maxBatchSize == null) {
            return config;
        }
        if (maxBatchSize < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--max-batch-size: " + maxBatchSize + " (expected: >= 0)");
        }
        return config.withMaxBatchSize(maxBatchSize);
    }

    private Path checkNoBuiltInSettings(Path repository) {
        if (maxBatchSize != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--max-batch-size applies only to the "
                    + "built-in minilm model; set max_batch_size in the config.json of each model under " + repository);
        }
        return repository;
    }
}
