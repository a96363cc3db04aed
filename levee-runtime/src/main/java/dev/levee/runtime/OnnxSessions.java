package dev.levee.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

/** Creates ONNX Runtime sessions with the thread settings of a model's configuration. */
final class OnnxSessions {
    private OnnxSessions() {}

    static OrtSession.SessionOptions options(ModelConfig config) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        int threads = config.intraOpThreads() > 0
                ? config.intraOpThreads()
                : Runtime.getRuntime().availableProcessors();
        options.setIntraOpNumThreads(threads);
        // Each model instance runs one batch at a time on its own thread, so parallelism between
        // graph nodes would only compete with the intra-op threads.
        options.setInterOpNumThreads(1);
        options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        return options;
    }

    static OrtEnvironment environment() {
        return OrtEnvironment.getEnvironment();
    }
}
