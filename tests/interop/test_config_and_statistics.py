"""Triton's model configuration and statistics extensions through tritonclient 2.73.0, HTTP and gRPC.

The node is the session fixture of conftest.py, which other tests also send requests to, so the
statistics checks compare counts before and after their own requests.
"""

import time

import pytest
from tritonclient.grpc import model_config_pb2
from tritonclient.utils import InferenceServerException

from test_tritonclient import TIMEOUT_SECONDS, grpc_client, http_client, infer, sample_features

REQUESTS = 5
ROWS_PER_REQUEST = 2
# A node updates the counts just after it completes a response, so a reader may wait for the last one.
STATISTICS_WAIT_SECONDS = 10


def triton_type(datatype):
    return "TYPE_STRING" if datatype == "BYTES" else "TYPE_" + datatype


def expected_tensors(metadata_tensors):
    """The (name, data type, dims) that a batching model's config lists for the metadata's tensors."""
    return [(t["name"], triton_type(t["datatype"]), t["shape"][1:]) for t in metadata_tensors]


def test_http_model_config(node):
    with http_client(node) as client:
        for model in ("minilm", "breast_cancer"):
            config = client.get_model_config(model)
            metadata = client.get_model_metadata(model)
            assert config["name"] == model
            assert config["platform"] == metadata["platform"]
            assert config["backend"] == "onnxruntime"
            assert [(t["name"], t["data_type"], t["dims"]) for t in config["input"]] == \
                expected_tensors(metadata["inputs"])
            assert [(t["name"], t["data_type"], t["dims"]) for t in config["output"]] == \
                expected_tensors(metadata["outputs"])
            assert config["instance_group"][0]["count"] == 1
            assert config["version_policy"] == {"latest": {"num_versions": 1}}
        classifier = client.get_model_config("breast_cancer", "1")
        assert classifier["max_batch_size"] == 64
        assert classifier["dynamic_batching"]["max_queue_delay_microseconds"] == 1000
        assert client.get_model_config("minilm")["dynamic_batching"]["preferred_batch_size"] == [8]
        with pytest.raises(InferenceServerException) as error:
            client.get_model_config("nope")
        assert error.value.status() == "404"


def test_grpc_model_config(node):
    with grpc_client(node) as client, http_client(node) as http:
        for model in ("minilm", "breast_cancer"):
            config = client.get_model_config(model, client_timeout=TIMEOUT_SECONDS).config
            metadata = http.get_model_metadata(model)
            assert config.name == model
            assert config.platform == metadata["platform"]
            assert config.backend == "onnxruntime"
            inputs = [(t.name, model_config_pb2.DataType.Name(t.data_type), list(t.dims)) for t in config.input]
            assert inputs == expected_tensors(metadata["inputs"])
            outputs = [(t.name, model_config_pb2.DataType.Name(t.data_type), list(t.dims)) for t in config.output]
            assert outputs == expected_tensors(metadata["outputs"])
            assert config.instance_group[0].count == 1
            assert config.version_policy.latest.num_versions == 1
        classifier = client.get_model_config("breast_cancer", "1", client_timeout=TIMEOUT_SECONDS).config
        assert classifier.max_batch_size == 64
        assert classifier.dynamic_batching.max_queue_delay_microseconds == 1000
        with pytest.raises(InferenceServerException) as error:
            client.get_model_config("nope", client_timeout=TIMEOUT_SECONDS)
        assert error.value.status() == "StatusCode.NOT_FOUND"


def await_statistics(read, done):
    """Call read() until done(result) holds, for at most STATISTICS_WAIT_SECONDS; return the result."""
    deadline = time.monotonic() + STATISTICS_WAIT_SECONDS
    result = read()
    while not done(result):
        assert time.monotonic() < deadline, f"statistics did not reach the expected counts: {result}"
        time.sleep(0.05)
        result = read()
    return result


def send_classifier_requests(node, mode):
    for _ in range(REQUESTS):
        outputs, _ = infer(node, mode, "breast_cancer", "input", "FP32", sample_features(), ["label"])
        assert outputs["label"].tolist() == [0, 1]


def test_http_inference_statistics(node):
    with http_client(node) as client:
        def read():
            (stats,) = client.get_inference_statistics("breast_cancer")["model_stats"]
            return stats

        before = read()
        started_ms = time.time() * 1000
        send_classifier_requests(node, "http-json")
        after = await_statistics(read, lambda s: s["inference_stats"]["success"]["count"]
                                 == before["inference_stats"]["success"]["count"] + REQUESTS)

        assert after["name"] == "breast_cancer"
        assert after["version"] == "1"
        # One request at a time, so each ran in a batch of its own.
        assert after["inference_count"] - before["inference_count"] == REQUESTS * ROWS_PER_REQUEST
        assert after["execution_count"] - before["execution_count"] == REQUESTS
        assert after["last_inference"] >= started_ms - 1000
        queue = after["inference_stats"]["queue"]
        assert queue["count"] - before["inference_stats"]["queue"]["count"] == REQUESTS
        compute = after["inference_stats"]["compute_infer"]
        assert compute["count"] - before["inference_stats"]["compute_infer"]["count"] == REQUESTS
        assert compute["ns"] > before["inference_stats"]["compute_infer"]["ns"]
        batches = {b["batch_size"]: b["compute_infer"]["count"] for b in after["batch_stats"]}
        assert batches.get(ROWS_PER_REQUEST, 0) >= REQUESTS

        names = {s["name"] for s in client.get_inference_statistics()["model_stats"]}
        assert {"minilm", "breast_cancer"} <= names
        assert len(client.get_inference_statistics("breast_cancer", "1")["model_stats"]) == 1
        with pytest.raises(InferenceServerException) as error:
            client.get_inference_statistics("nope")
        assert error.value.status() == "404"


def test_grpc_inference_statistics(node):
    with grpc_client(node) as client:
        def read():
            (stats,) = client.get_inference_statistics("breast_cancer", client_timeout=TIMEOUT_SECONDS).model_stats
            return stats

        before = read()
        send_classifier_requests(node, "grpc")
        after = await_statistics(read, lambda s: s.inference_stats.success.count
                                 == before.inference_stats.success.count + REQUESTS)

        assert after.name == "breast_cancer"
        assert after.version == "1"
        assert after.inference_count - before.inference_count == REQUESTS * ROWS_PER_REQUEST
        assert after.execution_count - before.execution_count == REQUESTS
        assert after.last_inference > 0
        assert after.inference_stats.queue.count - before.inference_stats.queue.count == REQUESTS
        assert after.inference_stats.queue.ns > before.inference_stats.queue.ns
        assert after.inference_stats.compute_infer.count - before.inference_stats.compute_infer.count == REQUESTS
        assert after.inference_stats.compute_infer.ns > before.inference_stats.compute_infer.ns

        every_model = client.get_inference_statistics(client_timeout=TIMEOUT_SECONDS).model_stats
        assert {"minilm", "breast_cancer"} <= {s.name for s in every_model}
        with pytest.raises(InferenceServerException) as error:
            client.get_inference_statistics("nope", client_timeout=TIMEOUT_SECONDS)
        assert error.value.status() == "StatusCode.NOT_FOUND"
