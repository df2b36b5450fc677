"""A Flower NumPyClient (linear regression on seeded NumPy data) to try Federate's Flower port.

Needs Flower (`pip install flwr`, 1.5 to 1.27) and NumPy. Not run in CI. See README.md next to this file.

    python numpy_client.py CLIENT_ID HOST:PORT
"""
import sys

import flwr as fl
import numpy as np

cid, server = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(100 + cid)
X = rng.normal(size=(64, 3))
true_w = np.array([1.5, -2.0, 0.5])
y = X @ true_w + 0.3 + rng.normal(scale=0.1, size=64)
X_test = rng.normal(size=(32, 3))
y_test = X_test @ true_w + 0.3


class LinearClient(fl.client.NumPyClient):
    def __init__(self):
        self.w = np.zeros(3, dtype=np.float64)
        self.b = np.zeros((), dtype=np.float32)

    def get_parameters(self, config):
        return [self.w, self.b]

    def fit(self, parameters, config):
        w, b = parameters[0].astype(np.float64), float(parameters[1])
        steps = int(config.get("local_steps", 5))
        for _ in range(steps):
            err = X @ w + b - y
            w = w - 0.05 * (X.T @ err) / len(y)
            b = b - 0.05 * err.mean()
        self.w, self.b = w, np.array(b, dtype=np.float32)
        return [self.w, self.b], len(y), {"train_mse": float(np.mean((X @ w + b - y) ** 2))}

    def evaluate(self, parameters, config):
        loss = float(np.mean((X_test @ parameters[0] + float(parameters[1]) - y_test) ** 2))
        print(f"client {cid} round {config.get('server_round')}: loss {loss!r}", flush=True)
        return loss, len(y_test), {"mse": loss}


fl.client.start_client(server_address=server, client=LinearClient().to_client(), insecure=True)
