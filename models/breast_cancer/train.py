"""Train the built-in breast-cancer classifier and export it to ONNX for Levee.

Fits StandardScaler + LogisticRegression on scikit-learn's bundled Wisconsin
diagnostic breast-cancer data, prints the held-out accuracy, and writes
1/model.onnx and sample_request.json beside this script. Every step is
deterministic, so a rerun with the pinned requirements writes the same bytes.

Usage: python models/breast_cancer/train.py
"""

import json
from pathlib import Path

import numpy as np
import onnxruntime
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

MODEL_DIR = Path(__file__).resolve().parent
ONNX_PATH = MODEL_DIR / "1" / "model.onnx"
SAMPLE_REQUEST_PATH = MODEL_DIR / "sample_request.json"

RANDOM_STATE = 0
TEST_SIZE = 0.25
# ONNX Runtime 1.23, the version Levee serves with, supports these opsets.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
# Dataset rows sent in sample_request.json: row 0 is malignant, row 19 is benign.
SAMPLE_ROWS = [0, 19]
# Largest difference between ONNX Runtime's and scikit-learn's probabilities that
# the export check accepts. The ONNX graph computes in float32.
PROBABILITY_TOLERANCE = 1e-5


def train(features, labels):
    """Fit the pipeline on a fixed split.

    Returns the fitted pipeline, its held-out accuracy and the number of held-out rows.
    """
    train_x, test_x, train_y, test_y = train_test_split(
        features, labels, test_size=TEST_SIZE, random_state=RANDOM_STATE, stratify=labels
    )
    pipeline = Pipeline(
        [
            ("scaler", StandardScaler()),
            ("classifier", LogisticRegression(max_iter=1000, random_state=RANDOM_STATE)),
        ]
    )
    pipeline.fit(train_x, train_y)
    return pipeline, pipeline.score(test_x, test_y), len(test_y)


def export(pipeline, feature_count):
    """Convert the pipeline to ONNX with plain label and probability tensors."""
    return convert_sklearn(
        pipeline,
        # A fixed graph name, because skl2onnx names the graph with a random UUID by default.
        name="breast_cancer",
        initial_types=[("input", FloatTensorType([None, feature_count]))],
        # zipmap=False makes the probabilities a float tensor [N, 2] instead of a
        # sequence of maps, which Levee cannot serve.
        options={LogisticRegression: {"zipmap": False}},
        target_opset=TARGET_OPSET,
    )


def check_export(pipeline, features):
    """Compare ONNX Runtime's outputs with scikit-learn's on all rows.

    Returns the largest probability difference. Raises RuntimeError if a label differs
    or a probability differs by more than PROBABILITY_TOLERANCE.
    """
    inputs = features.astype(np.float32)
    session = onnxruntime.InferenceSession(str(ONNX_PATH), providers=["CPUExecutionProvider"])
    onnx_labels, onnx_probabilities = session.run(["label", "probabilities"], {"input": inputs})
    # scikit-learn gets the same float32-rounded values that the ONNX graph receives.
    expected_labels = pipeline.predict(inputs.astype(np.float64))
    expected_probabilities = pipeline.predict_proba(inputs.astype(np.float64))
    if not np.array_equal(onnx_labels, expected_labels):
        mismatches = int(np.sum(onnx_labels != expected_labels))
        raise RuntimeError(
            f"ONNX labels differ from scikit-learn on {mismatches} of {len(inputs)} rows; "
            "install the exact versions in requirements.txt and rerun"
        )
    difference = float(np.max(np.abs(onnx_probabilities - expected_probabilities)))
    if difference > PROBABILITY_TOLERANCE:
        raise RuntimeError(
            f"ONNX probabilities differ from scikit-learn by {difference:.3g} "
            f"(expected: <= {PROBABILITY_TOLERANCE}); "
            "install the exact versions in requirements.txt and rerun"
        )
    return difference


def write_sample_request(pipeline, features, feature_count):
    """Write a v2 inference request with SAMPLE_ROWS and print the expected outputs."""
    rows = features[SAMPLE_ROWS].astype(np.float32)
    # str of a float32 is the shortest decimal that parses back to the same value.
    # The data is flat, in row-major order, with one dataset row per line.
    data_lines = ",\n".join(
        "        " + ", ".join(str(value) for value in row) for row in rows
    )
    request = (
        "{\n"
        '  "inputs": [\n'
        "    {\n"
        '      "name": "input",\n'
        f'      "shape": [{len(SAMPLE_ROWS)}, {feature_count}],\n'
        '      "datatype": "FP32",\n'
        '      "data": [\n'
        f"{data_lines}\n"
        "      ]\n"
        "    }\n"
        "  ]\n"
        "}\n"
    )
    # Parse the text back so that a formatting mistake fails here, not in the server.
    json.loads(request)
    SAMPLE_REQUEST_PATH.write_text(request)
    labels = pipeline.predict(rows.astype(np.float64))
    probabilities = pipeline.predict_proba(rows.astype(np.float64))
    for row, label, probability in zip(SAMPLE_ROWS, labels, probabilities):
        print(f"sample row {row}: label {label}, probabilities {probability.tolist()}")


def main():
    dataset = load_breast_cancer()
    features, labels = dataset.data, dataset.target
    feature_count = features.shape[1]

    pipeline, accuracy, test_count = train(features, labels)
    print(f"held-out accuracy: {accuracy:.4f} on {test_count} rows")

    onnx_model = export(pipeline, feature_count)
    ONNX_PATH.parent.mkdir(parents=True, exist_ok=True)
    ONNX_PATH.write_bytes(onnx_model.SerializeToString())
    print(f"wrote {ONNX_PATH}")

    difference = check_export(pipeline, features)
    print(f"ONNX Runtime matches scikit-learn on all {len(labels)} rows "
          f"(max probability difference {difference:.3g})")

    write_sample_request(pipeline, features, feature_count)
    print(f"wrote {SAMPLE_REQUEST_PATH}")


if __name__ == "__main__":
    main()
