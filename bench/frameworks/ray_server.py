"""Ray Serve deployment of the breast_cancer ONNX classifier, with @serve.batch and ONNX Runtime.

Usage: python ray_server.py --model-path FILE --port PORT --max-batch-size N --max-batch-wait-s S.
Ray Serve does not speak the v2 protocol, so this deployment takes the v2 JSON request that
`levee loadtest` sends (one FP32 input) at POST /v2/models/breast_cancer/infer and returns a
v2-shaped JSON response. It does not implement the rest of v2: no metadata or health endpoints,
no binary tensors, no datatype or shape validation beyond what NumPy raises.
"""
import argparse
import os
import signal
import uuid

# Usage statistics would be reported over the network, and the benchmark sends traffic only to loopback.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import numpy as np  # noqa: E402
import ray  # noqa: E402
from ray import serve  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402

from onnx_session import open_session  # noqa: E402

MODEL_NAME = "breast_cancer"


@serve.deployment(num_replicas=1)
class OnnxRuntimeModel:
    def __init__(self, model_path, max_batch_size, max_batch_wait_s):
        self._session = open_session(model_path)
        self.run_batch.set_max_batch_size(max_batch_size)
        self.run_batch.set_batch_wait_timeout_s(max_batch_wait_s)

    @serve.batch
    async def run_batch(self, feature_arrays):
        label, probabilities = self._session.run(["label", "probabilities"],
                                                 {"input": np.concatenate(feature_arrays)})
        results = []
        start = 0
        for features in feature_arrays:
            end = start + features.shape[0]
            results.append((label[start:end], probabilities[start:end]))
            start = end
        return results

    async def __call__(self, request: Request):
        body = await request.json()
        tensor = body["inputs"][0]
        features = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
        label, probabilities = await self.run_batch(features)
        return JSONResponse({
            "model_name": MODEL_NAME,
            "id": body.get("id") or str(uuid.uuid4()),
            "outputs": [
                {"name": "label", "datatype": "INT64", "shape": list(label.shape), "data": label.tolist()},
                {"name": "probabilities", "datatype": "FP32", "shape": list(probabilities.shape),
                 "data": probabilities.ravel().tolist()},
            ],
        })


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-path", required=True, help="Path of the ONNX file to serve.")
    parser.add_argument("--port", type=int, required=True, help="HTTP port on 127.0.0.1.")
    parser.add_argument("--max-batch-size", type=int, required=True, help="Maximum number of requests in one batch.")
    parser.add_argument("--max-batch-wait-s", type=float, required=True,
                        help="Maximum time in seconds that a batch waits for more requests.")
    parser.add_argument("--temp-dir", required=True, help="Folder for Ray's session files and sockets.")
    parser.add_argument("--num-cpus", type=int, default=os.cpu_count(), help="Processors that Ray may schedule.")
    args = parser.parse_args()

    ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False, _temp_dir=args.temp_dir)
    serve.start(http_options={"host": "127.0.0.1", "port": args.port})
    # A replica takes at most max_ongoing_requests at once (5 by default in Ray 2.60), which would cap
    # the batch at 5, so the limit is twice the batch size. The proxy queues the rest without a bound.
    deployment = OnnxRuntimeModel.options(
        max_ongoing_requests=2 * args.max_batch_size,
        ray_actor_options={"num_cpus": 1})
    serve.run(deployment.bind(args.model_path, args.max_batch_size, args.max_batch_wait_s),
              name=MODEL_NAME, route_prefix=f"/v2/models/{MODEL_NAME}/infer")
    print(f"ray serve: {MODEL_NAME} ready on http://127.0.0.1:{args.port}", flush=True)

    def shut_down(signum, frame):
        serve.shutdown()
        ray.shutdown()
        raise SystemExit(0)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, shut_down)
    signal.pause()


if __name__ == "__main__":
    main()
