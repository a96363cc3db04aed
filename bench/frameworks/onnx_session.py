"""Opens the benchmark's ONNX Runtime session with the thread settings that Levee uses.

Shared by the MLServer, KServe and Ray Serve programs of bench/frameworks-bench.sh, so that every
framework runs the model with the same ONNX Runtime options as `levee serve`.
"""
import os

import onnxruntime


def intra_op_threads():
    """Returns the processors less one, at least one: Levee's default for a model's intra-op threads."""
    return max(1, (os.cpu_count() or 1) - 1)


def open_session(model_path):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = intra_op_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Levee turns spinning off too, so that idle ONNX Runtime threads leave the cores to the HTTP server.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
