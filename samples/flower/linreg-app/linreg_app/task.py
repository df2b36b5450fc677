"""The data and training of the app: linear regression on seeded NumPy data (node config 'partition-id')."""
import numpy as np

TRUE_W = np.array([1.5, -2.0, 0.5])


def load(partition_id):
    rng = np.random.default_rng(100 + partition_id)
    x = rng.normal(size=(64, 3))
    y = x @ TRUE_W + 0.3 + rng.normal(scale=0.1, size=64)
    xt = rng.normal(size=(32, 3))
    yt = xt @ TRUE_W + 0.3
    return x, y, xt, yt


def initial(padding=0):
    """A float64 weight vector and a float32 0-d bias, as in Federate's legacy Flower tests; with padding, a third
    float32 array of that many zeros that every node sends back unchanged (to measure transfer costs)."""
    arrays = [np.zeros(3, dtype=np.float64), np.zeros((), dtype=np.float32)]
    return arrays + [np.zeros(padding, dtype=np.float32)] if padding else arrays


def train(w, b, x, y, steps=5, lr=0.05):
    w, b = w.astype(np.float64), float(b)
    for _ in range(steps):
        err = x @ w + b - y
        w = w - lr * (x.T @ err) / len(y)
        b = b - lr * err.mean()
    return w, np.array(b, dtype=np.float32), float(np.mean((x @ w + b - y) ** 2))


def mse(w, b, x, y):
    return float(np.mean((x @ w + float(b) - y) ** 2))
