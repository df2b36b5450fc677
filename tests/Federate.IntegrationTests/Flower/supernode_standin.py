"""Stand-in for Flower's SuperNode (`flower-supernode`) with a Message-API ClientApp, for Federate's tests.

Speaks Flower's Fleet API (gRPC request-response, service flwr.proto.Fleet) the way a SuperNode of the given
version does. 1.19: CreateNode, then PullMessages in a loop; for a message: GetRun and GetFab once per run (the FAB's
.info/CONTENT hashes are checked as Flower's installer does), PullObject for every object listed in objects_to_pull
(each checked against its SHA-256 id), ConfirmMessageReceived, then the reply as objects: PushMessages with the object
tree and PushObject for each object the server asks for. 1.23: RegisterNode and ActivateNode with a public key, the
objects to pull from the message's ObjectTree, arrays as JSON Array objects whose .npy data is in ArrayChunk children
(5 MiB each), the objects to push as a list of ids. 1.22: registers as 1.19 does but pulls as 1.23 does (how Flower
1.20 to 1.22 behave). Messages are declared here from the protocol's facts (package flwr.proto, Flower's field
numbers); needs only Debian's python3-grpcio, python3-protobuf and python3-numpy, no Flower install.

  supernode_standin.py HOST:PORT CID [linear|echo] [POLL_SECONDS] [1.19|1.22|1.23]

linear: the ClientApp trains the same linear regression as flower_standin.py's NumPyClient (seeded data, 5 gradient
        steps per train message), answers "query" with its initial arrays and "evaluate" with the MSE as "loss"; its
        train replies also carry a ConfigRecord "metrics" with a string ("device") and bytes ("digest").
echo:   answers train with the received arrays unchanged (any model) and evaluate with loss 0, 10 examples each.
Exits 0 when the server goes away after at least one answer (Flower's SuperNode would keep retrying); exits 1 with
"failed: CODE DETAILS" when a call is refused.
"""
import hashlib
import io
import json
import sys
import time
import zipfile

import grpc
import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto
T = {"string": F.TYPE_STRING, "bytes": F.TYPE_BYTES, "double": F.TYPE_DOUBLE, "uint64": F.TYPE_UINT64,
     "sint64": F.TYPE_SINT64, "bool": F.TYPE_BOOL, "int32": F.TYPE_INT32, "uint32": F.TYPE_UINT32}

# name -> [(field, number, type, repeated, oneof)]; a type not in T is a message of this file.
MESSAGES = {
    "Node": [("node_id", 1, "uint64")],
    "CreateNodeRequest": [("heartbeat_interval", 1, "double")],
    "CreateNodeResponse": [("node", 1, "Node")],
    "RegisterNodeFleetRequest": [("public_key", 1, "bytes")],
    "RegisterNodeFleetResponse": [("node_id", 1, "uint64")],
    "ActivateNodeRequest": [("public_key", 1, "bytes"), ("heartbeat_interval", 2, "double")],
    "ActivateNodeResponse": [("node_id", 1, "uint64")],
    "DeleteNodeRequest": [("node", 1, "Node")],
    "DeleteNodeResponse": [],
    "SendNodeHeartbeatRequest": [("node", 1, "Node"), ("heartbeat_interval", 2, "double")],
    "SendNodeHeartbeatResponse": [("success", 1, "bool")],
    "ObjectIDs": [("object_ids", 1, "string", True)],
    "ObjectTree": [("object_id", 1, "string"), ("children", 2, "ObjectTree", True)],
    "Reconnect": [("reconnect", 1, "uint64")],
    "Error": [("code", 1, "sint64"), ("reason", 2, "string")],
    "Metadata": [("run_id", 1, "uint64"), ("message_id", 2, "string"), ("src_node_id", 3, "uint64"),
                 ("dst_node_id", 4, "uint64"), ("reply_to_message_id", 5, "string"), ("group_id", 6, "string"),
                 ("ttl", 7, "double"), ("message_type", 8, "string"), ("created_at", 9, "double")],
    "Message": [("metadata", 1, "Metadata"), ("error", 3, "Error")],
    "PullMessagesRequest": [("node", 1, "Node"), ("message_ids", 2, "string", True)],
    "PullMessagesResponse": [("reconnect", 1, "Reconnect"), ("messages_list", 2, "Message", True),
                             ("objects_to_pull", 3, "map:ObjectIDs")],
    "PullMessagesResponse123": [("reconnect", 1, "Reconnect"), ("messages_list", 2, "Message", True),
                                ("message_object_trees", 3, "ObjectTree", True)],
    "PushMessagesResponse123": [("reconnect", 1, "Reconnect"), ("results", 2, "map:uint32"),
                                ("objects_to_push", 3, "string", True)],
    "PushMessagesRequest": [("node", 1, "Node"), ("messages_list", 2, "Message", True),
                            ("message_object_trees", 3, "ObjectTree", True)],
    "PushMessagesResponse": [("reconnect", 1, "Reconnect"), ("results", 2, "map:uint32"),
                             ("objects_to_push", 3, "map:ObjectIDs")],
    "PushObjectRequest": [("node", 1, "Node"), ("run_id", 2, "uint64"), ("object_id", 3, "string"),
                          ("object_content", 4, "bytes")],
    "PushObjectResponse": [("stored", 1, "bool")],
    "PullObjectRequest": [("node", 1, "Node"), ("run_id", 2, "uint64"), ("object_id", 3, "string")],
    "PullObjectResponse": [("object_found", 1, "bool"), ("object_available", 2, "bool"), ("object_content", 3, "bytes")],
    "ConfirmMessageReceivedRequest": [("node", 1, "Node"), ("run_id", 2, "uint64"), ("message_object_id", 3, "string")],
    "ConfirmMessageReceivedResponse": [],
    "Run": [("run_id", 1, "uint64"), ("fab_id", 2, "string"), ("fab_version", 3, "string"), ("fab_hash", 5, "string")],
    "GetRunRequest": [("node", 1, "Node"), ("run_id", 2, "uint64")],
    "GetRunResponse": [("run", 1, "Run")],
    "Fab": [("hash_str", 1, "string"), ("content", 2, "bytes")],
    "GetFabRequest": [("node", 1, "Node"), ("hash_str", 2, "string"), ("run_id", 3, "uint64")],
    "GetFabResponse": [("fab", 1, "Fab")],
    "Array": [("dtype", 1, "string"), ("shape", 2, "int32", True), ("stype", 3, "string"), ("data", 4, "bytes")],
    "MetricRecordValue": [("double", 1, "double", False, 0), ("sint64", 2, "sint64", False, 0), ("uint64", 3, "uint64", False, 0)],
    "MetricRecordItem": [("key", 1, "string"), ("value", 2, "MetricRecordValue")],
    "MetricRecord": [("items", 1, "MetricRecordItem", True)],
    "ConfigRecordValue": [("double", 1, "double", False, 0), ("sint64", 2, "sint64", False, 0), ("uint64", 3, "uint64", False, 0),
                          ("bool", 4, "bool", False, 0), ("string", 5, "string", False, 0), ("bytes", 6, "bytes", False, 0)],
    "ConfigRecordItem": [("key", 1, "string"), ("value", 2, "ConfigRecordValue")],
    "ConfigRecord": [("items", 1, "ConfigRecordItem", True)],
}


def _build():
    f = descriptor_pb2.FileDescriptorProto(name="flwr_standin_fleet.proto", package="flwr.proto", syntax="proto3")
    for name, fields in MESSAGES.items():
        m = f.message_type.add(name=name)
        if any(len(x) > 4 for x in fields):
            m.oneof_decl.add(name="value")
        for spec in fields:
            fname, num, ftype = spec[:3]
            repeated = len(spec) > 3 and spec[3]
            label = F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL
            if ftype.startswith("map:"):
                entry = "".join(p.capitalize() for p in fname.split("_")) + "Entry"
                e = m.nested_type.add(name=entry)
                e.options.map_entry = True
                e.field.add(name="key", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
                vt = ftype[4:]
                if vt in T:
                    e.field.add(name="value", number=2, type=T[vt], label=F.LABEL_OPTIONAL)
                else:
                    e.field.add(name="value", number=2, type=F.TYPE_MESSAGE, type_name=f".flwr.proto.{vt}", label=F.LABEL_OPTIONAL)
                m.field.add(name=fname, number=num, type=F.TYPE_MESSAGE, type_name=f".flwr.proto.{name}.{entry}", label=F.LABEL_REPEATED)
            elif ftype in T:
                fd = m.field.add(name=fname, number=num, type=T[ftype], label=label)
                if len(spec) > 4:
                    fd.oneof_index = spec[4]
            else:
                m.field.add(name=fname, number=num, type=F.TYPE_MESSAGE, type_name=f".flwr.proto.{ftype}", label=label)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)

    def cls(n):
        d = pool.FindMessageTypeByName(f"flwr.proto.{n}")
        if hasattr(message_factory, "GetMessageClass"):
            return message_factory.GetMessageClass(d)
        return message_factory.MessageFactory(pool).GetPrototype(d)

    return {n: cls(n) for n in MESSAGES}


P = _build()


def obj_bytes(kind, children, body):
    return f"{kind} {','.join(children)} {len(body)}".encode() + b"\x00" + body


def obj_parse(content):
    i = content.index(b"\x00")
    kind, children, length = content[:i].decode().split(" ")
    body = content[i + 1:]
    assert len(body) == int(length), "body length differs from the head"
    return kind, (children.split(",") if children else []), body


class Fleet:
    def __init__(self, address):
        self.channel = grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 2**31 - 1)])

    def call(self, method, request, response):
        fn = self.channel.unary_unary(f"/flwr.proto.Fleet/{method}", request_serializer=lambda m: m.SerializeToString(),
                                      response_deserializer=P[response].FromString)
        return fn(request)


def npy(a):
    b = io.BytesIO()
    np.save(b, a, allow_pickle=False)
    return b.getvalue()


class App:
    """The ClientApp: Message-API handlers taking and returning record dicts (plain dicts here)."""

    def __init__(self, cid, mode):
        self.mode = mode
        rng = np.random.default_rng(100 + cid)
        self.X = rng.normal(size=(64, 3))
        true_w = np.array([1.5, -2.0, 0.5])
        self.y = self.X @ true_w + 0.3 + rng.normal(scale=0.1, size=64)
        self.Xt = rng.normal(size=(32, 3))
        self.yt = self.Xt @ true_w + 0.3

    def handle(self, kind, arrays, config):
        if kind == "query":
            return {"arrays": {"w": np.zeros(3, dtype=np.float64), "b": np.zeros((), dtype=np.float32)}}, {}
        if self.mode == "echo":
            if kind == "train":
                return {"arrays": arrays}, {"num-examples": 10}
            return {}, {"loss": 0.0, "num-examples": 10}
        w, b = [a for a in arrays.values()]
        w, b = w.astype(np.float64), float(b)
        if kind == "train":
            for _ in range(5):
                err = self.X @ w + b - self.y
                w = w - 0.05 * (self.X.T @ err) / len(self.y)
                b = b - 0.05 * err.mean()
            keys = list(arrays.keys())
            mse = float(np.mean((self.X @ w + b - self.y) ** 2))
            return {"arrays": {keys[0]: w, keys[1]: np.array(b, dtype=np.float32)}}, {"train_mse": mse, "num-examples": len(self.y)}
        loss = float(np.mean((self.Xt @ w + b - self.yt) ** 2))
        return {}, {"loss": loss, "num-examples": len(self.yt)}


def check_fab(content, expected_hash):
    assert hashlib.sha256(content).hexdigest() == expected_hash, "the FAB's SHA-256 differs from the run's fab_hash"
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        names = z.namelist()
        assert "pyproject.toml" in names and ".info/CONTENT" in names, f"not a FAB: {names}"
        for line in z.read(".info/CONTENT").decode().strip().split("\n"):
            if not line:
                continue
            path, digest, bits = line.split(",")
            data = z.read(path)
            assert hashlib.sha256(data).hexdigest() == digest and len(data) * 8 == int(bits), f"FAB file {path} fails its hash"
        return names


CHUNK = 5 * 1024 * 1024  # Flower 1.23's ArrayChunk size


def tree_ids(tree):
    """Every object id of a tree, children before parents, each once (as Flower pulls them)."""
    out = []
    for child in tree.children:
        out += [i for i in tree_ids(child) if i not in out]
    return out + ([tree.object_id] if tree.object_id not in out else [])


def read_array(contents, aid):
    kind, children, body = obj_parse(contents[aid])
    assert kind == "Array"
    if body.startswith(b"{"):  # 1.20+: JSON head, the .npy data in ArrayChunk children
        head = json.loads(body)
        data = b"".join(obj_parse(contents[children[i]])[2] for i in head["arraychunk_ids"])
        dtype, shape, stype = head["dtype"], head["shape"], head["stype"]
    else:
        a = P["Array"].FromString(body)
        data, dtype, shape, stype = a.data, a.dtype, list(a.shape), a.stype
    assert stype == "numpy.ndarray"
    arr = np.load(io.BytesIO(data), allow_pickle=False)
    assert str(arr.dtype) == dtype and list(arr.shape) == list(shape), "Array dtype/shape differ from its .npy"
    return arr


def serve(address, cid, mode, poll, version):
    fleet = Fleet(address)
    app = App(cid, mode)
    trees = version in ("1.22", "1.23")  # 1.20 and later list an ObjectTree and chunk arrays
    if version == "1.23":
        key = f"-----BEGIN PUBLIC KEY-----\nstand-in key {cid}\n-----END PUBLIC KEY-----\n".encode()
        fleet.call("RegisterNode", P["RegisterNodeFleetRequest"](public_key=key), "RegisterNodeFleetResponse")
        node = P["Node"](node_id=fleet.call("ActivateNode", P["ActivateNodeRequest"](public_key=key, heartbeat_interval=30.0), "ActivateNodeResponse").node_id)
    else:
        node = P["Node"](node_id=fleet.call("CreateNode", P["CreateNodeRequest"](heartbeat_interval=30.0), "CreateNodeResponse").node.node_id)
    print(f"supernode {cid} node id {node.node_id} (Flower {version})", flush=True)
    runs = {}
    answered = 0
    last_beat = time.monotonic()
    while True:
        try:
            if time.monotonic() - last_beat > 5:
                ok = fleet.call("SendNodeHeartbeat", P["SendNodeHeartbeatRequest"](node=node, heartbeat_interval=30.0), "SendNodeHeartbeatResponse")
                assert ok.success, "the server does not know this node any more"
                last_beat = time.monotonic()
            res = fleet.call("PullMessages", P["PullMessagesRequest"](node=node), "PullMessagesResponse123" if trees else "PullMessagesResponse")
            if not res.messages_list:
                time.sleep(poll)
                continue
            listed = res.messages_list[0]
            md = listed.metadata
            assert md.dst_node_id == node.node_id, "a message for another node"
            msg_id = md.message_id
            if md.run_id not in runs:
                run = fleet.call("GetRun", P["GetRunRequest"](node=node, run_id=md.run_id), "GetRunResponse").run
                fab = fleet.call("GetFab", P["GetFabRequest"](node=node, hash_str=run.fab_hash, run_id=md.run_id), "GetFabResponse").fab
                names = check_fab(fab.content, run.fab_hash)
                runs[md.run_id] = run
                print(f"supernode {cid} run {md.run_id}: app {run.fab_id} {run.fab_version}, FAB files {sorted(names)}", flush=True)
            contents = {}
            if trees:
                assert res.message_object_trees[0].object_id == msg_id, "the tree's root is not the message"
                to_pull = tree_ids(res.message_object_trees[0])
            else:
                to_pull = list(res.objects_to_pull[msg_id].object_ids) + [msg_id]
            for oid in dict.fromkeys(to_pull):
                r = fleet.call("PullObject", P["PullObjectRequest"](node=node, run_id=md.run_id, object_id=oid), "PullObjectResponse")
                assert r.object_found and r.object_available, f"object {oid} not available"
                assert hashlib.sha256(r.object_content).hexdigest() == oid, f"object {oid} does not hash to its id"
                contents[oid] = r.object_content
            fleet.call("ConfirmMessageReceived", P["ConfirmMessageReceivedRequest"](node=node, run_id=md.run_id, message_object_id=msg_id), "ConfirmMessageReceivedResponse")

            kind, children, body = obj_parse(contents[msg_id])
            assert kind == "Message" and len(children) == 1
            inner = P["Message"].FromString(body).metadata
            assert inner.message_id == "" and inner.message_type == md.message_type
            _, rd_children, rd_body = obj_parse(contents[children[0]])
            arrays, config = {}, {}
            for key, rid in json.loads(rd_body).items():
                assert rid in rd_children
                rkind, rch, rbody = obj_parse(contents[rid])
                if rkind == "ArrayRecord" and key == "arrays":
                    for name, aid in json.loads(rbody).items():
                        arrays[name] = read_array(contents, aid)
                elif rkind == "ConfigRecord" and key == "config":
                    for item in P["ConfigRecord"].FromString(rbody).items:
                        which = item.value.WhichOneof("value")
                        config[item.key] = getattr(item.value, which)
            round_ = config.get("server-round", -1)
            print(f"supernode {cid} {md.message_type} round {round_} group {md.group_id} config {sorted(config.items())}", flush=True)

            out_arrays, metrics = app.handle(md.message_type, arrays, config)
            if md.message_type == "evaluate":
                print(f"supernode {cid} evaluate loss {metrics['loss']!r}", flush=True)
            objects = {}

            def put(kind, children, body):
                content = obj_bytes(kind, children, body)
                oid = hashlib.sha256(content).hexdigest()
                objects[oid] = content
                return oid

            records, subtrees = {}, []
            for rname, arrs in out_arrays.items():
                refs, array_trees = {}, {}
                for name, arr in arrs.items():
                    arr = np.asarray(arr)
                    if trees:
                        data = npy(arr)
                        chunks = [put("ArrayChunk", [], data[i:i + CHUNK]) for i in range(0, len(data), CHUNK)]
                        unique_chunks = list(dict.fromkeys(chunks))
                        head = {"dtype": str(arr.dtype), "shape": list(arr.shape), "stype": "numpy.ndarray",
                                "arraychunk_ids": [unique_chunks.index(c) for c in chunks]}
                        aid = put("Array", unique_chunks, json.dumps(head).encode())
                        array_trees[aid] = P["ObjectTree"](object_id=aid, children=[P["ObjectTree"](object_id=c) for c in unique_chunks])
                    else:
                        aid = put("Array", [], P["Array"](dtype=str(arr.dtype), shape=list(arr.shape), stype="numpy.ndarray", data=npy(arr)).SerializeToString())
                        array_trees[aid] = P["ObjectTree"](object_id=aid)
                    refs[name] = aid
                unique = list(dict.fromkeys(refs.values()))
                records[rname] = put("ArrayRecord", unique, json.dumps(refs).encode())
                subtrees.append(P["ObjectTree"](object_id=records[rname], children=[array_trees[u] for u in unique]))
            if mode == "linear" and md.message_type == "train":
                # Strings and bytes cannot be in a MetricRecord: a ClientApp reports them in a ConfigRecord.
                cr = P["ConfigRecord"]()
                cr.items.add(key="device").value.string = f"standin-{cid}"
                cr.items.add(key="digest").value.bytes = bytes([cid, 255])
                records["metrics_text"] = put("ConfigRecord", [], cr.SerializeToString())
                subtrees.append(P["ObjectTree"](object_id=records["metrics_text"]))
            if metrics:
                mr = P["MetricRecord"]()
                for k, v in metrics.items():
                    item = mr.items.add(key=k)
                    if isinstance(v, int):
                        item.value.sint64 = v
                    else:
                        item.value.double = v
                records["metrics"] = put("MetricRecord", [], mr.SerializeToString())
                subtrees.append(P["ObjectTree"](object_id=records["metrics"]))
            rd = put("RecordDict", list(dict.fromkeys(records.values())), json.dumps(records).encode())
            reply_md = P["Metadata"](run_id=md.run_id, src_node_id=node.node_id, dst_node_id=md.src_node_id, reply_to_message_id=msg_id,
                                     group_id=md.group_id, ttl=md.ttl, message_type=md.message_type, created_at=time.time())
            root = put("Message", [rd], P["Message"](metadata=reply_md).SerializeToString())
            tree = P["ObjectTree"](object_id=root, children=[P["ObjectTree"](object_id=rd, children=subtrees)])
            listed_md = P["Metadata"]()
            listed_md.CopyFrom(reply_md)
            listed_md.message_id = root
            push = fleet.call("PushMessages", P["PushMessagesRequest"](node=node, messages_list=[P["Message"](metadata=listed_md)], message_object_trees=[tree]),
                              "PushMessagesResponse123" if trees else "PushMessagesResponse")
            if trees:
                to_push = list(push.objects_to_push)
            else:
                to_push = list(push.objects_to_push[root].object_ids) if root in push.objects_to_push else []
            for oid in to_push:
                stored = fleet.call("PushObject", P["PushObjectRequest"](node=node, run_id=md.run_id, object_id=oid, object_content=objects[oid]), "PushObjectResponse")
                assert stored.stored, f"object {oid} was not stored"
            answered += 1
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNAVAILABLE and answered > 0:
                print(f"supernode {cid} server gone after {answered} answers", flush=True)
                return 0
            print(f"supernode {cid} failed: {e.code()} {e.details()}", flush=True)
            return 1


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "linear", float(sys.argv[4]) if len(sys.argv) > 4 else 0.1,
                   sys.argv[5] if len(sys.argv) > 5 else "1.19"))
