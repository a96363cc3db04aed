"""Triton's stock Python clients (tritonclient 2.73.0, HTTP and gRPC) against a real Levee node.

Each inference case runs in four modes: HTTP with JSON tensors, HTTP with binary tensors
requested per output, HTTP with no outputs named (tritonclient then requests all outputs in
binary form), and gRPC. The node comes from the session fixture in conftest.py.
"""

import json

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from conftest import REPO_ROOT

TIMEOUT_SECONDS = 30
DIMENSIONS = 384
TEXTS = ["Exam results are out.", "The ticket sale opens at nine.", "Ünïcödé text, too: 東京"]
MODES = ["http-json", "http-binary", "http-binary-default", "grpc"]


def http_client(node):
    return httpclient.InferenceServerClient(
        node.http_url, connection_timeout=TIMEOUT_SECONDS, network_timeout=TIMEOUT_SECONDS)


def grpc_client(node):
    return grpcclient.InferenceServerClient(node.grpc_url)


def infer(node, mode, model, input_name, datatype, array, output_names):
    """Send one input and return {output name: numpy array} and, for HTTP, the response's JSON."""
    if mode == "grpc":
        with grpc_client(node) as client:
            tensor = grpcclient.InferInput(input_name, list(array.shape), datatype)
            tensor.set_data_from_numpy(array)
            outputs = [grpcclient.InferRequestedOutput(name) for name in output_names]
            result = client.infer(model, [tensor], outputs=outputs, client_timeout=TIMEOUT_SECONDS)
            return {name: result.as_numpy(name) for name in output_names}, None
    binary = mode != "http-json"
    with http_client(node) as client:
        tensor = httpclient.InferInput(input_name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array, binary_data=binary)
        outputs = None
        if mode != "http-binary-default":
            outputs = [httpclient.InferRequestedOutput(name, binary_data=binary) for name in output_names]
        result = client.infer(model, [tensor], outputs=outputs)
        return {name: result.as_numpy(name) for name in output_names}, result.get_response()


def assert_output_form(mode, response, name):
    """Check that an HTTP output really came in the form the mode asked for."""
    if response is None:
        return
    output = next(o for o in response["outputs"] if o["name"] == name)
    if mode == "http-json":
        assert "data" in output
        assert "binary_data_size" not in output.get("parameters", {})
    else:
        assert "data" not in output
        assert output["parameters"]["binary_data_size"] > 0


def embed(node, mode, texts):
    array = np.array([text.encode("utf-8") for text in texts], dtype=np.object_)
    outputs, response = infer(node, mode, "minilm", "text", "BYTES", array, ["embedding"])
    assert_output_form(mode, response, "embedding")
    return outputs["embedding"]


@pytest.fixture(scope="module")
def reference_embeddings(node):
    return embed(node, "http-json", TEXTS)


def sample_features():
    sample = json.loads((REPO_ROOT / "models" / "breast_cancer" / "sample_request.json").read_text())
    tensor = sample["inputs"][0]
    return np.array(tensor["data"], dtype=np.float32).reshape(tensor["shape"])


def test_http_health_and_server_metadata(node):
    with http_client(node) as client:
        assert client.is_server_live()
        assert client.is_server_ready()
        metadata = client.get_server_metadata()
        assert metadata["name"] == "levee"
        assert "binary_tensor_data" in metadata["extensions"]
        assert client.is_model_ready("minilm")
        assert client.is_model_ready("breast_cancer")


def test_grpc_health_and_server_metadata(node):
    with grpc_client(node) as client:
        assert client.is_server_live(client_timeout=TIMEOUT_SECONDS)
        assert client.is_server_ready(client_timeout=TIMEOUT_SECONDS)
        metadata = client.get_server_metadata(client_timeout=TIMEOUT_SECONDS)
        assert metadata.name == "levee"
        assert "binary_tensor_data" in metadata.extensions
        assert client.is_model_ready("minilm", client_timeout=TIMEOUT_SECONDS)
        assert client.is_model_ready("breast_cancer", client_timeout=TIMEOUT_SECONDS)


def test_http_model_metadata(node):
    with http_client(node) as client:
        minilm = client.get_model_metadata("minilm")
        assert minilm["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
        assert minilm["outputs"] == [{"name": "embedding", "datatype": "FP32", "shape": [-1, DIMENSIONS]}]
        classifier = client.get_model_metadata("breast_cancer")
        assert classifier["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 30]}]
        assert {o["name"] for o in classifier["outputs"]} == {"label", "probabilities"}


def test_grpc_model_metadata(node):
    with grpc_client(node) as client:
        minilm = client.get_model_metadata("minilm", client_timeout=TIMEOUT_SECONDS)
        assert [(t.name, t.datatype, list(t.shape)) for t in minilm.inputs] == [("text", "BYTES", [-1])]
        assert [(t.name, t.datatype, list(t.shape)) for t in minilm.outputs] == [
            ("embedding", "FP32", [-1, DIMENSIONS])]
        classifier = client.get_model_metadata("breast_cancer", client_timeout=TIMEOUT_SECONDS)
        assert [(t.name, t.datatype, list(t.shape)) for t in classifier.inputs] == [("input", "FP32", [-1, 30])]


@pytest.mark.parametrize("mode", MODES)
def test_minilm_embeddings(node, mode, reference_embeddings):
    embeddings = embed(node, mode, TEXTS)

    assert embeddings.dtype == np.float32
    assert embeddings.shape == (len(TEXTS), DIMENSIONS)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(embeddings, reference_embeddings, atol=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_breast_cancer_labels(node, mode):
    outputs, response = infer(node, mode, "breast_cancer", "input", "FP32", sample_features(),
                              ["label", "probabilities"])
    assert_output_form(mode, response, "label")
    assert_output_form(mode, response, "probabilities")

    assert outputs["label"].tolist() == [0, 1]
    probabilities = outputs["probabilities"]
    assert probabilities.dtype == np.float32
    assert probabilities.shape == (2, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    # Row 1 of the sample is benign with probability 0.9463 (models/breast_cancer/README.md).
    assert probabilities[1, 1] == pytest.approx(0.9463, abs=1e-3)


@pytest.mark.parametrize("mode", MODES)
def test_unknown_model_is_not_found(node, mode):
    with pytest.raises(InferenceServerException) as error:
        infer(node, mode, "nope", "input", "FP32", sample_features(), ["label"])
    expected = "StatusCode.NOT_FOUND" if mode == "grpc" else "404"
    assert error.value.status() == expected
    assert "'nope'" in error.value.message()


@pytest.mark.parametrize("mode", MODES)
def test_wrong_shape_names_the_input(node, mode):
    features = sample_features()[:, :29]
    with pytest.raises(InferenceServerException) as error:
        infer(node, mode, "breast_cancer", "input", "FP32", features, ["label"])
    expected = "StatusCode.INVALID_ARGUMENT" if mode == "grpc" else "400"
    assert error.value.status() == expected
    assert "input 'input' has shape [2, 29]" in error.value.message()


# ---------------------------------------------------------------------------------------------
# Model repository extension: index, load and unload, on a node with explicit model control.
# ---------------------------------------------------------------------------------------------

SAMPLE_FEATURES = np.array(
    json.loads((REPO_ROOT / "models" / "breast_cancer" / "sample_request.json").read_text())
    ["inputs"][0]["data"], dtype=np.float32).reshape(2, 30)


def index_states(client, protocol):
    """Return {model name: state} from the repository index, as either client reports it."""
    if protocol == "grpc":
        return {m.name: m.state for m in client.get_model_repository_index().models}
    return {m["name"]: m.get("state", "") for m in client.get_model_repository_index()}


def labels(client, protocol, model):
    module = grpcclient if protocol == "grpc" else httpclient
    tensor = module.InferInput("input", [2, 30], "FP32")
    tensor.set_data_from_numpy(SAMPLE_FEATURES)
    result = client.infer(model, [tensor], outputs=[module.InferRequestedOutput("label")])
    return result.as_numpy("label").tolist()


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_repository_load_and_unload(controlled_node, protocol):
    client = grpc_client(controlled_node) if protocol == "grpc" else http_client(controlled_node)
    with client:
        states = index_states(client, protocol)
        assert states["breast_cancer"] == "READY"
        assert "classifier_b" in states
        assert states["classifier_b"] != "READY"
        assert not client.is_model_ready("classifier_b")

        client.load_model("classifier_b")
        assert client.is_model_ready("classifier_b")
        assert index_states(client, protocol)["classifier_b"] == "READY"
        assert labels(client, protocol, "classifier_b") == [0, 1]

        client.unload_model("classifier_b")
        assert not client.is_model_ready("classifier_b")
        assert index_states(client, protocol)["classifier_b"] != "READY"
        with pytest.raises(InferenceServerException):
            labels(client, protocol, "classifier_b")
        # The other model served throughout.
        assert labels(client, protocol, "breast_cancer") == [0, 1]


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_repository_load_rejects_a_name_outside_the_repository(controlled_node, protocol):
    client = grpc_client(controlled_node) if protocol == "grpc" else http_client(controlled_node)
    with client:
        with pytest.raises(InferenceServerException) as error:
            client.load_model("../breast_cancer")
        expected = "StatusCode.INVALID_ARGUMENT" if protocol == "grpc" else "400"
        assert error.value.status() == expected
        assert client.is_model_ready("breast_cancer")
