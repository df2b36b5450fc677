"""ServerApp for Flower's own SuperLink: FedAvg with Message-API messages, the way Flower's Message-API FedAvg
(flwr.serverapp.strategy.FedAvg, Flower 1.21+) sends and aggregates them, written out so it runs on Flower 1.19.
Asks one node for the initial arrays (a "query" message, as Federate does with --model none), then per round a
"train" and an "evaluate" message to every node; arrays averaged weighted by "num-examples"; losses likewise."""
import time

import numpy as np
from flwr.common import ArrayRecord, ConfigRecord, Context, Message, MessageType, RecordDict
from flwr.server import Grid, ServerApp

app = ServerApp()


def _nodes(grid, n):
    while len(ids := sorted(grid.get_node_ids())) < n:
        time.sleep(1)
    return ids


def _ask(grid, nodes, kind, content):
    msgs = [grid.create_message(content, kind, node, group_id="") for node in nodes]
    replies = list(grid.send_and_receive(msgs))
    bad = [r for r in replies if r.has_error()]
    assert not bad, f"{len(bad)} failures: {bad[0].error.reason}"
    return sorted(replies, key=lambda r: r.metadata.src_node_id)


@app.main()
def main(grid: Grid, context: Context) -> None:
    rounds = int(context.run_config["num-server-rounds"])
    nodes = _nodes(grid, int(context.run_config.get("min-nodes", 2)))
    arrays = _ask(grid, nodes[:1], MessageType.QUERY, RecordDict({"config": ConfigRecord({})}))[0].content["arrays"]
    weights = arrays.to_numpy_ndarrays()
    for rnd in range(1, rounds + 1):
        config = ConfigRecord({"server-round": rnd})
        started = time.perf_counter()
        replies = _ask(grid, nodes, MessageType.TRAIN, RecordDict({"arrays": ArrayRecord(weights), "config": config}))
        total = sum(r.content["metrics"]["num-examples"] for r in replies)
        # Flower's FedAvg: each update times n_i / N, summed in arrival order (here: node order), in the tensor's dtype.
        updates = [(r.content["arrays"].to_numpy_ndarrays(), r.content["metrics"]["num-examples"] / total) for r in replies]
        weights = [np.asarray(sum(u[i] * f for u, f in updates)).astype(weights[i].dtype) for i in range(len(weights))]
        replies = _ask(grid, nodes, MessageType.EVALUATE, RecordDict({"arrays": ArrayRecord(weights), "config": config}))
        n = sum(r.content["metrics"]["num-examples"] for r in replies)
        loss = sum(r.content["metrics"]["loss"] * r.content["metrics"]["num-examples"] for r in replies) / n
        print(f"round {rnd}: loss {loss!r} ({time.perf_counter() - started:.3f} s)", flush=True)
