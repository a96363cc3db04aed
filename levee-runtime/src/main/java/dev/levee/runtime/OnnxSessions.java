package dev.levee.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

/** Creates ONNX Runtime sessions with the thread settings of a model's configuration. */
final class OnnxSessions {
    private OnnxSessions() {}

    static OrtSession.SessionOptions options(ModelConfig config) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        int threads = config.intraOpThreads() > 0 ? config.intraOpThreads() : defaultIntraOpThreads();
        options.setIntraOpNumThreads(threads);
        // Each model instance runs one batch at a time on its own thread, so parallelism between
        // graph nodes would only compete with the intra-op threads.
        options.setInterOpNumThreads(1);
        options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        // ONNX Runtime's threads spin while they wait for work by default. On a small machine the
        // spinning takes the cores that the event loops need to answer requests and rejections.
        options.addConfigEntry("session.intra_op.allow_spinning", "0");
        options.addConfigEntry("session.inter_op.allow_spinning", "0");
        return options;
    }

    /**
     * One thread less than the processors, at least one: the spare core keeps the event loops
     * answering, rejections above all, while the model saturates the rest. On 2 cores, minilm under
     * 10x overload kept 84% of its capacity as goodput with 1 thread, and 56% with 2 (see
     * docs/decisions.md).
     */
    static int defaultIntraOpThreads() {
        return Math.max(1, Runtime.getRuntime().availableProcessors() - 1);
    }

    static OrtEnvironment environment() {
        return OrtEnvironment.getEnvironment();
    }
}
