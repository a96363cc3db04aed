package dev.levee.cli;

import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.ModelConfig;
import dev.levee.runtime.ModelRepository;
import dev.levee.server.LeveeNode;
import dev.levee.server.NodeOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code levee serve}: runs one node until SIGTERM or Ctrl-C, then drains and exits. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Starts a node serving the built-in model, or the models of a repository.")
final class ServeCommand implements Callable<Integer> {

    @Option(names = "--port", defaultValue = "8000",
            description = "TCP port for REST over HTTP/1.1 and HTTP/2 cleartext; 0 picks a free port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--host", defaultValue = "0.0.0.0",
            description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--model-repository", paramLabel = "DIR",
            description = "Folder with one subfolder per model; without it the built-in minilm model is served.")
    Path modelRepository;

    @Option(names = "--max-body-bytes", defaultValue = "67108864",
            description = "Largest request body in bytes; larger ones get 413 (default: ${DEFAULT-VALUE}).")
    long maxBodyBytes;

    @Option(names = "--max-batch-size", paramLabel = "N",
            description = "Max sentences per batch of the built-in model (default: "
                    + ModelConfig.DEFAULT_MAX_BATCH_SIZE + "). 0 turns batching off, so each request runs "
                    + "alone with all its sentences; 1 also runs requests alone but rejects any with more "
                    + "than one sentence. With --model-repository, set max_batch_size in each model's "
                    + "config.json instead.")
    Integer maxBatchSize;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        List<LoadedModel> models = modelRepository == null
                ? List.of(ModelRepository.loadMiniLm(builtInConfig()))
                : ModelRepository.loadAll(checkNoBuiltInSettings(modelRepository));
        NodeOptions options = NodeOptions.defaults().withHost(host).withPort(port).withMaxBodyBytes(maxBodyBytes);
        LeveeNode node = LeveeNode.start(options, models);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("levee-shutdown").unstarted(() -> {
            node.close();
            stopped.countDown();
        }));
        stopped.await();
        return 0;
    }

    private ModelConfig builtInConfig() {
        ModelConfig config = ModelRepository.miniLmConfig();
        if (maxBatchSize == null) {
            return config;
        }
        if (maxBatchSize < 0) {
            throw new ParameterException(spec.commandLine(),
                    "--max-batch-size: " + maxBatchSize + " (expected: >= 0)");
        }
        return config.withMaxBatchSize(maxBatchSize);
    }

    private Path checkNoBuiltInSettings(Path repository) {
        if (maxBatchSize != null) {
            throw new ParameterException(spec.commandLine(), "--max-batch-size applies only to the built-in "
                    + "model; set max_batch_size in the config.json of each model under " + repository);
        }
        return repository;
    }
}
