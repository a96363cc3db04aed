"""KServe Python model server for the breast_cancer ONNX classifier, with ONNX Runtime.

Usage: python kserve_server.py --model_path FILE --http_port PORT [--workers N] plus any other
argument of kserve.ModelServer. KServe's Python server has no request batching of its own, so
each request runs the model once, on the server's event loop.
"""
import argparse
import logging
import uuid

import kserve
import numpy as np
from kserve import InferOutput, InferRequest, InferResponse
from kserve.utils.numpy_codec import from_np_dtype

from onnx_session import open_session

MODEL_NAME = "breast_cancer"


class OnnxRuntimeModel(kserve.Model):
    def __init__(self, name, model_path):
        super().__init__(name)
        self._model_path = model_path
        self._session = None

    def load(self):
        self._session = open_session(self._model_path)
        self.ready = True
        return self.ready

    def __getstate__(self):
        # With --workers above 1, KServe pickles the model into each worker process, and an ONNX
        # Runtime session cannot be pickled, so each worker opens its own session.
        state = self.__dict__.copy()
        state["_session"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self.ready:
            self.load()

    def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        features = payload.inputs[0].as_numpy().astype(np.float32, copy=False)
        label, probabilities = self._session.run(["label", "probabilities"], {"input": features})
        outputs = []
        for name, values in (("label", label), ("probabilities", probabilities)):
            output = InferOutput(name=name, shape=list(values.shape), datatype=from_np_dtype(values.dtype))
            output.set_data_from_numpy(values, binary_data=False)
            outputs.append(output)
        return InferResponse(response_id=payload.id or str(uuid.uuid4()), model_name=self.name, infer_outputs=outputs)


def main():
    parser = argparse.ArgumentParser(parents=[kserve.model_server.parser])
    parser.add_argument("--model_path", required=True, help="Path of the ONNX file to serve.")
    args, _ = parser.parse_known_args()
    model = OnnxRuntimeModel(MODEL_NAME, args.model_path)
    model.load()
    server = kserve.ModelServer()
    # ModelServer configures logging when it is created. Per-request log lines would cost this server
    # time that the other servers do not spend, so they are turned off after that.
    for name in ("uvicorn.access", "kserve.trace"):
        logging.getLogger(name).setLevel(logging.WARNING)
    server.start([model])


if __name__ == "__main__":
    main()
