"""Stand-in for Flower's gRPC clients and server (flwr.proto.FlowerService/Join), for Federate's tests.

Needs only Debian's python3-grpcio, python3-protobuf and python3-numpy: the messages are declared here from the
protocol's facts (package flwr.proto, Flower's field numbers), so no Flower install and no generated stubs.

  flower_standin.py client HOST:PORT CID   behave like a Flower NumPyClient (linear regression on seeded data)
  flower_standin.py server HOST:PORT N R   behave like Flower's start_server with FedAvg: N clients, R rounds
"""
import io
import queue
import threading
import sys
from concurrent import futures

import grpc
import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto


def _field(msg, name, number, ftype, type_name=None, repeated=False, oneof=None):
    fd = msg.field.add(name=name, number=number, type=ftype, label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
    if type_name:
        fd.type_name = type_name
    if oneof is not None:
        fd.oneof_index = oneof


def _map(msg, full_name, name, number):
    entry = "".join(p.capitalize() for p in name.split("_")) + "Entry"
    e = msg.nested_type.add(name=entry)
    e.options.map_entry = True
    _field(e, "key", 1, F.TYPE_STRING)
    _field(e, "value", 2, F.TYPE_MESSAGE, ".flwr.proto.Scalar")
    _field(msg, name, number, F.TYPE_MESSAGE, f".{full_name}.{entry}", repeated=True)


def _build():
    f = descriptor_pb2.FileDescriptorProto(name="flwr_standin_transport.proto", package="flwr.proto", syntax="proto3")
    code = f.enum_type.add(name="Code")
    for i, n in enumerate(["OK", "GET_PROPERTIES_NOT_IMPLEMENTED", "GET_PARAMETERS_NOT_IMPLEMENTED", "FIT_NOT_IMPLEMENTED", "EVALUATE_NOT_IMPLEMENTED"]):
        code.value.add(name=n, number=i)
    reason = f.enum_type.add(name="Reason")
    for i, n in enumerate(["UNKNOWN", "RECONNECT", "POWER_DISCONNECTED", "WIFI_UNAVAILABLE", "ACK"]):
        reason.value.add(name=n, number=i)
    status = f.message_type.add(name="Status")
    _field(status, "code", 1, F.TYPE_ENUM, ".flwr.proto.Code")
    _field(status, "message", 2, F.TYPE_STRING)
    params = f.message_type.add(name="Parameters")
    _field(params, "tensors", 1, F.TYPE_BYTES, repeated=True)
    _field(params, "tensor_type", 2, F.TYPE_STRING)
    scalar = f.message_type.add(name="Scalar")
    scalar.oneof_decl.add(name="scalar")
    for n, num, t in [("double", 1, F.TYPE_DOUBLE), ("uint64", 6, F.TYPE_UINT64), ("sint64", 8, F.TYPE_SINT64),
                      ("bool", 13, F.TYPE_BOOL), ("string", 14, F.TYPE_STRING), ("bytes", 15, F.TYPE_BYTES)]:
        _field(scalar, n, num, t, oneof=0)

    sm = f.message_type.add(name="ServerMessage")
    sm.oneof_decl.add(name="msg")
    s = "flwr.proto.ServerMessage"
    ri = sm.nested_type.add(name="ReconnectIns")
    _field(ri, "seconds", 1, F.TYPE_INT64)
    for n in ["GetPropertiesIns", "GetParametersIns"]:
        _map(sm.nested_type.add(name=n), f"{s}.{n}", "config", 1)
    for n in ["FitIns", "EvaluateIns"]:
        m = sm.nested_type.add(name=n)
        _field(m, "parameters", 1, F.TYPE_MESSAGE, ".flwr.proto.Parameters")
        _map(m, f"{s}.{n}", "config", 2)
    for n, num, t in [("reconnect_ins", 1, "ReconnectIns"), ("get_properties_ins", 2, "GetPropertiesIns"),
                      ("get_parameters_ins", 3, "GetParametersIns"), ("fit_ins", 4, "FitIns"), ("evaluate_ins", 5, "EvaluateIns")]:
        _field(sm, n, num, F.TYPE_MESSAGE, f".{s}.{t}", oneof=0)

    cm = f.message_type.add(name="ClientMessage")
    cm.oneof_decl.add(name="msg")
    c = "flwr.proto.ClientMessage"
    dr = cm.nested_type.add(name="DisconnectRes")
    _field(dr, "reason", 1, F.TYPE_ENUM, ".flwr.proto.Reason")
    gp = cm.nested_type.add(name="GetPropertiesRes")
    _field(gp, "status", 1, F.TYPE_MESSAGE, ".flwr.proto.Status")
    _map(gp, f"{c}.GetPropertiesRes", "properties", 2)
    gr = cm.nested_type.add(name="GetParametersRes")
    _field(gr, "status", 1, F.TYPE_MESSAGE, ".flwr.proto.Status")
    _field(gr, "parameters", 2, F.TYPE_MESSAGE, ".flwr.proto.Parameters")
    fr = cm.nested_type.add(name="FitRes")
    _field(fr, "status", 1, F.TYPE_MESSAGE, ".flwr.proto.Status")
    _field(fr, "parameters", 2, F.TYPE_MESSAGE, ".flwr.proto.Parameters")
    _field(fr, "num_examples", 3, F.TYPE_INT64)
    _map(fr, f"{c}.FitRes", "metrics", 4)
    er = cm.nested_type.add(name="EvaluateRes")
    _field(er, "status", 1, F.TYPE_MESSAGE, ".flwr.proto.Status")
    _field(er, "loss", 2, F.TYPE_FLOAT)
    _field(er, "num_examples", 3, F.TYPE_INT64)
    _map(er, f"{c}.EvaluateRes", "metrics", 4)
    for n, num, t in [("disconnect_res", 1, "DisconnectRes"), ("get_properties_res", 2, "GetPropertiesRes"),
                      ("get_parameters_res", 3, "GetParametersRes"), ("fit_res", 4, "FitRes"), ("evaluate_res", 5, "EvaluateRes")]:
        _field(cm, n, num, F.TYPE_MESSAGE, f".{c}.{t}", oneof=0)

    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)

    def cls(name):
        d = pool.FindMessageTypeByName(name)
        if hasattr(message_factory, "GetMessageClass"):
            return message_factory.GetMessageClass(d)
        return message_factory.MessageFactory(pool).GetPrototype(d)

    return cls("flwr.proto.ServerMessage"), cls("flwr.proto.ClientMessage"), cls("flwr.proto.Parameters")


ServerMessage, ClientMessage, Parameters = _build()
METHOD = "/flwr.proto.FlowerService/Join"


def to_npy(a):
    b = io.BytesIO()
    np.save(b, a, allow_pickle=False)
    return b.getvalue()


def from_npy(data):
    return np.load(io.BytesIO(data), allow_pickle=False)


def params(arrays):
    return Parameters(tensors=[to_npy(a) for a in arrays], tensor_type="numpy.ndarray")


def run_client(address, cid, root_certificates=None):
    # The same data and training as the NumPyClient used to measure Flower 1.19's own losses.
    rng = np.random.default_rng(100 + cid)
    X = rng.normal(size=(64, 3))
    true_w = np.array([1.5, -2.0, 0.5])
    y = X @ true_w + 0.3 + rng.normal(scale=0.1, size=64)
    Xt = rng.normal(size=(32, 3))
    yt = Xt @ true_w + 0.3
    state = {"w": np.zeros(3, dtype=np.float64), "b": np.zeros((), dtype=np.float32)}

    outbox = queue.Queue()
    if root_certificates:
        # TLS as a Flower client does it: start_client(..., root_certificates=Path("ca.pem").read_bytes()).
        with open(root_certificates, "rb") as f:
            channel = grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=f.read()))
    else:
        channel = grpc.insecure_channel(address)
    join = channel.stream_stream(METHOD, request_serializer=lambda m: m.SerializeToString(), response_deserializer=ServerMessage.FromString)
    answered = 0
    try:
        for msg in join(iter(outbox.get, None)):
            kind = msg.WhichOneof("msg")
            reply = ClientMessage()
            if kind == "get_parameters_ins":
                reply.get_parameters_res.status.message = "Success"
                reply.get_parameters_res.parameters.CopyFrom(params([state["w"], state["b"]]))
            elif kind == "fit_ins":
                arrays = [from_npy(t) for t in msg.fit_ins.parameters.tensors]
                w, b = arrays[0].astype(np.float64), float(arrays[1])
                for _ in range(5):
                    err = X @ w + b - y
                    w = w - 0.05 * (X.T @ err) / len(y)
                    b = b - 0.05 * err.mean()
                state["w"], state["b"] = w, np.array(b, dtype=np.float32)
                rounds = msg.fit_ins.config["server_round"].sint64 if "server_round" in msg.fit_ins.config else -1
                print(f"standin {cid} fit server_round={rounds}", flush=True)
                config = ", ".join(f"{k}={v.WhichOneof('scalar')}:{getattr(v, v.WhichOneof('scalar'))}" for k, v in sorted(msg.fit_ins.config.items()))
                print(f"standin {cid} fit config {config}", flush=True)
                fr = reply.fit_res
                fr.status.message = "Success"
                fr.parameters.CopyFrom(params([state["w"], state["b"]]))
                fr.num_examples = len(y)
                fr.metrics["train_mse"].double = float(np.mean((X @ w + b - y) ** 2))
                fr.metrics["device"].string = f"standin-{cid}"
            elif kind == "evaluate_ins":
                arrays = [from_npy(t) for t in msg.evaluate_ins.parameters.tensors]
                loss = float(np.mean((Xt @ arrays[0] + float(arrays[1]) - yt) ** 2))
                print(f"standin {cid} evaluate loss {loss!r}", flush=True)
                er = reply.evaluate_res
                er.status.message = "Success"
                er.loss = loss
                er.num_examples = len(yt)
                er.metrics["mse"].double = loss
                er.metrics["digest"].bytes = bytes([cid, 255])
            elif kind == "reconnect_ins":
                print(f"standin {cid} reconnect after {answered} answers", flush=True)
                reply.disconnect_res.reason = 4
                outbox.put(reply)
                outbox.put(None)
                break
            else:
                raise SystemExit(f"standin {cid}: unexpected server message {kind}")
            outbox.put(reply)
            answered += 1
    except grpc.RpcError as e:
        print(f"standin {cid} stream ended: {e.code()}", flush=True)
        return 0 if answered > 0 and e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED) else 1
    print(f"standin {cid} done", flush=True)
    return 0


class _Bridge:
    """One client's stream: the coordinator puts instructions in, replies come back one by one."""

    def __init__(self):
        self.instructions = queue.Queue()
        self.replies = queue.Queue()
        self.done = threading.Event()


def run_server(address, clients, rounds):
    # Flower's start_server with FedAvg and no initial parameters: get_parameters from one client, then per round
    # fit and evaluate on all clients, FedAvg weighted by num_examples, finally reconnect_ins to everyone.
    bridges = queue.Queue()

    def join(request_iterator, context):
        bridge = _Bridge()
        bridges.put(bridge)
        requests = iter(request_iterator)
        while True:
            ins = bridge.instructions.get()
            if ins is None:
                return
            yield ins
            if ins.WhichOneof("msg") == "reconnect_ins":
                # Wait until the client hangs up (its request stream ends or is cancelled): it has then read
                # reconnect_ins, so stopping the server cannot cut the connection under an unread message.
                try:
                    for _ in requests:
                        pass
                except Exception:
                    pass
                bridge.done.set()
                return
            try:
                bridge.replies.put(next(requests))
            except StopIteration:
                bridge.replies.put(None)
                return

    handler = grpc.method_handlers_generic_handler("flwr.proto.FlowerService", {
        "Join": grpc.stream_stream_rpc_method_handler(join, request_deserializer=ClientMessage.FromString, response_serializer=lambda m: m.SerializeToString()),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=clients + 4))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port(address)
    server.start()
    print(f"standin server listening on {port}", flush=True)

    connected = [bridges.get(timeout=60)]

    def ask(bridge, ins):
        bridge.instructions.put(ins)
        reply = bridge.replies.get(timeout=120)
        if reply is None:
            raise SystemExit("standin server: a client left")
        return reply

    gp = ServerMessage()
    gp.get_parameters_ins.SetInParent()
    reply = ask(connected[0], gp)
    if reply.get_parameters_res.status.code != 0:
        raise SystemExit("standin server: get_parameters failed: " + reply.get_parameters_res.status.message)
    weights = [from_npy(t) for t in reply.get_parameters_res.parameters.tensors]
    print(f"standin server initial parameters: {len(weights)} tensors", flush=True)
    while len(connected) < clients:
        connected.append(bridges.get(timeout=60))

    failures = 0
    for rnd in range(1, rounds + 1):
        fit = ServerMessage()
        fit.fit_ins.parameters.CopyFrom(params(weights))
        fit.fit_ins.config["server_round"].sint64 = rnd
        fit.fit_ins.config["local_epochs"].sint64 = 1
        results = []
        for b in connected:
            r = ask(b, fit)
            if r.WhichOneof("msg") != "fit_res" or r.fit_res.status.code != 0:
                failures += 1
                continue
            results.append(([from_npy(t) for t in r.fit_res.parameters.tensors], r.fit_res.num_examples))
        total = sum(n for _, n in results)
        weights = [sum(arrays[i].astype(np.float64) * n for arrays, n in results) / total for i in range(len(weights))]
        weights = [w.astype(results[0][0][i].dtype) for i, w in enumerate(weights)]
        ev = ServerMessage()
        ev.evaluate_ins.parameters.CopyFrom(params(weights))
        losses = []
        for b in connected:
            r = ask(b, ev)
            if r.WhichOneof("msg") != "evaluate_res" or r.evaluate_res.status.code != 0:
                failures += 1
                continue
            losses.append((r.evaluate_res.loss, r.evaluate_res.num_examples))
        loss = sum(l * n for l, n in losses) / max(1, sum(n for _, n in losses))
        print(f"standin server round {rnd}: {len(results)} results, {failures} failures, loss {loss!r}", flush=True)

    bye = ServerMessage()
    bye.reconnect_ins.SetInParent()
    for b in connected:
        b.instructions.put(bye)
    # Like Flower's server, stop only after every client has been sent reconnect_ins.
    for b in connected:
        b.done.wait(timeout=30)
    server.stop(grace=1).wait()
    print(f"standin server done, {failures} failures", flush=True)
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    if sys.argv[1] == "client":
        sys.exit(run_client(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None))
    sys.exit(run_server(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
