"""MLServer inference runtime that runs the breast_cancer ONNX classifier with ONNX Runtime.

MLServer's adaptive batcher concatenates the rows of queued requests into one request before
predict() runs, and splits the outputs back by request afterwards.
"""
import numpy as np
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse

from onnx_session import open_session


class OnnxRuntimeModel(MLModel):
    async def load(self) -> bool:
        self._session = open_session(self.settings.parameters.uri)
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        features = NumpyCodec.decode_input(payload.inputs[0]).astype(np.float32, copy=False)
        label, probabilities = self._session.run(["label", "probabilities"], {"input": features})
        return InferenceResponse(
            model_name=self.name,
            outputs=[NumpyCodec.encode_output("label", label),
                     NumpyCodec.encode_output("probabilities", probabilities)])
