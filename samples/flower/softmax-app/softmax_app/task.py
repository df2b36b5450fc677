"""Softmax regression with NumPy on seeded data shaped like iris (4 features, 3 classes). It trains whatever weight
matrix and bias it receives (Federate's 'logistic' model on iris: a 4x3 or 3x4 float32 matrix and 3 biases), so Flower
nodes and native Federate clients can train one model together."""
import numpy as np


def load(partition_id, rows=60):
    rng = np.random.default_rng(200 + partition_id)
    centers = np.array([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]])
    y = rng.integers(0, 3, size=rows)
    x = (centers[y] + rng.normal(scale=0.35, size=(rows, 4))).astype(np.float32)
    return x, y


def _logits(arrays, x):
    w, b = arrays
    return (x @ w if w.shape[0] == x.shape[1] else x @ w.T) + b


def train(arrays, x, y, epochs=1, lr=0.05, batch=16):
    w, b = [a.astype(np.float64) for a in arrays]
    for _ in range(epochs):
        for s in range(0, len(y), batch):
            xb, yb = x[s:s + batch], y[s:s + batch]
            z = _logits((w, b), xb)
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(yb)), yb] -= 1
            grad = xb.T @ p / len(yb)
            w -= lr * (grad if w.shape[0] == x.shape[1] else grad.T)
            b -= lr * p.mean(axis=0)
    return [w.astype(arrays[0].dtype), b.astype(arrays[1].dtype)]


def evaluate(arrays, x, y):
    z = _logits([a.astype(np.float64) for a in arrays], x)
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean()), float((z.argmax(axis=1) == y).mean())
