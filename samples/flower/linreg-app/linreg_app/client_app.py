"""ClientApp (Message API): train, evaluate and query handlers."""
from flwr.client import ClientApp
from flwr.common import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict

from linreg_app.task import initial, load, mse, train

app = ClientApp()


def _data(context):
    return load(int(context.node_config.get("partition-id", 0)))


@app.query()
def query(msg: Message, context: Context) -> Message:
    """Initial parameters, when a server (Federate with --model none) asks for them."""
    return Message(RecordDict({"arrays": ArrayRecord(initial(int(context.run_config.get("padding", 0))))}), reply_to=msg)


@app.train()
def fit(msg: Message, context: Context) -> Message:
    x, y, _, _ = _data(context)
    w, b, *padding = msg.content["arrays"].to_numpy_ndarrays()
    w, b, train_mse = train(w, b, x, y)
    # Metrics that are not numbers go in a ConfigRecord (a MetricRecord holds numbers only).
    info = ConfigRecord({"device": f"numpy-partition-{int(context.node_config.get('partition-id', 0))}"})
    content = RecordDict({"arrays": ArrayRecord([w, b, *padding]), "metrics": MetricRecord({"train_mse": train_mse, "num-examples": len(y)}), "info": info})
    return Message(content, reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    _, _, xt, yt = _data(context)
    w, b, *_ = msg.content["arrays"].to_numpy_ndarrays()
    loss = mse(w, b, xt, yt)
    print(f"linreg-app evaluate loss {loss!r}", flush=True)
    return Message(RecordDict({"metrics": MetricRecord({"loss": loss, "num-examples": len(yt)})}), reply_to=msg)
