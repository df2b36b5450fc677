"""A legacy Flower client (`start_client` with a NumPyClient) training the softmax regression of softmax-app, to
join a Federate run with native clients and SuperNodes (docs/flower.md, "Mixed fleets"). Not run in CI.

    python softmax_client.py PARTITION HOST:FLOWER_PORT
"""
import os
import sys

import flwr as fl

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "softmax-app"))
from softmax_app.task import evaluate, load, train  # noqa: E402

partition, server = int(sys.argv[1]), sys.argv[2]
x, y = load(partition)


class SoftmaxClient(fl.client.NumPyClient):
    def fit(self, parameters, config):
        return train(parameters, x, y, epochs=int(config.get("local_epochs", 1))), len(y), {"device": f"legacy-{partition}"}

    def evaluate(self, parameters, config):
        loss, accuracy = evaluate(parameters, x, y)
        return loss, len(y), {"accuracy": accuracy}


fl.client.start_client(server_address=server, client=SoftmaxClient().to_client(), insecure=True)
