"""This app's ServerApp role is played by `federate server` (its strategy sends the model and aggregates)."""
from flwr.common import Context
from flwr.server import Grid, ServerApp

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    raise RuntimeError("run this app's ClientApp under federate server --flower-app (see docs/flower.md)")
