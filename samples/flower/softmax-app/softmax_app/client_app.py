"""ClientApp (Message API): trains and evaluates the arrays it receives."""
from flwr.client import ClientApp
from flwr.common import ArrayRecord, Context, Message, MetricRecord, RecordDict

from softmax_app.task import evaluate, load, train

app = ClientApp()


def _data(context):
    return load(int(context.node_config.get("partition-id", 0)))


@app.train()
def fit(msg: Message, context: Context) -> Message:
    x, y = _data(context)
    record = msg.content["arrays"]
    arrays = train(record.to_numpy_ndarrays(), x, y, epochs=int(msg.content["config"].get("local_epochs", 1)))
    # Arrays listed in order: Federate matches them to the model's tensors by position.
    return Message(RecordDict({"arrays": ArrayRecord(arrays), "metrics": MetricRecord({"num-examples": len(y)})}), reply_to=msg)


@app.evaluate()
def check(msg: Message, context: Context) -> Message:
    x, y = _data(context)
    loss, accuracy = evaluate(msg.content["arrays"].to_numpy_ndarrays(), x, y)
    return Message(RecordDict({"metrics": MetricRecord({"loss": loss, "accuracy": accuracy, "num-examples": len(y)})}), reply_to=msg)
