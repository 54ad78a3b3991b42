"""The codec: every value type through a real frame and back, what it refuses, and its decoder hook."""
from __future__ import annotations

import ast
import collections
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from autograder.engine import codec, framing
from autograder.engine.framing import ChannelError
from autograder.engine.values import ModuleRef, NumpyFloat, NumpyInt, Opaque, Raised, Refusal, TensorRef, TorchSize

ENGINE = Path(codec.__file__).parent


def round_trip(value: Any, enc: codec.Encoder | None = None) -> Any:
    """Encode as the child does, send it in a frame, read the frame and decode it as the parent does."""
    enc = enc or codec.Encoder()
    node = enc.encode(value)
    data = framing.encode_frame({"v": node}, enc.blobs)
    chunks = iter([data])
    buffer = bytearray()

    def read(n: int) -> bytes:
        while len(buffer) < n:
            buffer.extend(next(chunks))
        out = bytes(buffer[:n])
        del buffer[:n]
        return out

    header, blobs = framing.parse_frame(read)
    return codec.decode(header["v"], blobs)


# ---------------------------------------------------------------- plain values

@pytest.mark.parametrize("value", [None, True, False, 0, -7, 2**63 - 1, 1.5, float("inf"), "", "héllo",
                                   [1, "a", None], (1, (2, 3)), {"a": 1, 2: [3.0]}, []])
def test_plain_values_round_trip_with_their_types(value: Any) -> None:
    got = round_trip(value)
    assert got == value and type(got) is type(value)


def test_nan_round_trips() -> None:
    assert math.isnan(round_trip(float("nan")))


def test_a_huge_int_becomes_a_float_and_a_long_str_is_cut() -> None:
    assert round_trip(2**70) == float(2**70) and type(round_trip(2**70)) is float
    assert round_trip("x" * 200_000) == "x" * 100_000


def test_containers_by_kind() -> None:
    point = collections.namedtuple("point", "x y")
    assert round_trip(point(1, 2)) == (1, 2) and type(round_trip(point(1, 2))) is tuple
    ordered = round_trip(collections.OrderedDict([("b", 1), ("a", 2)]))
    assert type(ordered) is dict and list(ordered) == ["b", "a"]


def test_a_subclass_of_a_plain_type_is_opaque() -> None:
    class Sneaky(int):
        def __repr__(self) -> str:
            return "sneaky"

    got = round_trip(Sneaky(3))
    assert isinstance(got, Opaque) and got.repr == "sneaky" and got.cls.endswith("Sneaky")


def test_numpy_scalars_are_numbers_with_their_dtype() -> None:
    i, f = round_trip(np.int32(7)), round_trip(np.float32(0.5))
    assert type(i) is NumpyInt and i == 7 and i.dtype == "int32"
    assert type(f) is NumpyFloat and f == 0.5 and f.dtype == "float32"
    assert round_trip(np.uint8(255)) == 255


def test_a_torch_size_is_a_tuple_of_ints_and_a_dtype_is_a_dtype() -> None:
    size = round_trip(torch.Size([2, 3]))
    assert type(size) is TorchSize and size == (2, 3)
    assert round_trip(torch.float64) is torch.float64
    assert round_trip([torch.int8, torch.bfloat16]) == [torch.int8, torch.bfloat16]


def test_opaque_objects_keep_their_class_and_a_short_repr() -> None:
    class Loud:
        def __repr__(self) -> str:
            return "L" * 1000

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    loud, broken = round_trip(Loud()), round_trip(Broken())
    assert isinstance(loud, Opaque) and loud.repr == "L" * 300
    assert isinstance(broken, Opaque) and broken.repr == "<repr failed>"
    assert round_trip(print).cls == "builtin_function_or_method"


def test_too_deep_or_too_large_a_value_is_refused() -> None:
    deep: list = []
    for _ in range(codec.Encoder.MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(Refusal) as refused:  # the kit's refusal, coded: no English sentence for the student
        codec.Encoder().encode(deep)
    assert refused.value.code == "too_large" and not isinstance(refused.value, ValueError)
    enc = codec.Encoder()
    enc.MAX_ITEMS = 10  # the same check as at 100,000 items, without encoding as many
    with pytest.raises(Refusal) as refused:
        enc.encode(list(range(10)))
    assert refused.value.code == "too_large"


def test_a_refusal_travels_as_its_code_and_values_never_as_the_students_exception() -> None:
    got = codec.decode(codec.raised(Refusal("not_module", type="None")), [])
    assert isinstance(got, Raised) and got.code == "not_module" and got.params == {"type": "None"}
    assert not got.is_a("TypeError") and not got.is_a("ValueError")
    theirs = codec.decode(codec.raised(TypeError("not_module")), [])  # the student's own exception has no code
    assert theirs.code == "" and theirs.params == {}


# ---------------------------------------------------------------- tensors and modules

@pytest.mark.parametrize("dtype", codec.DTYPES)
def test_tensors_of_every_dtype_round_trip_with_their_values(dtype: str) -> None:
    tdtype = getattr(torch, dtype)
    t = (torch.arange(6) % 2 == 0) if tdtype == torch.bool else torch.arange(6).to(tdtype)
    got = round_trip(t.reshape(2, 3))
    assert isinstance(got, TensorRef) and got.dtype == dtype and got.shape == (2, 3)
    assert got.data.dtype == tdtype and torch.equal(got.data, t.reshape(2, 3))
    assert not got.is_parameter and got.is_leaf and not got.lazy and got.cls == "torch.Tensor"


def test_empty_and_zero_dimensional_tensors() -> None:
    empty, scalar = round_trip(torch.empty(0, 3)), round_trip(torch.tensor(2.5))
    assert empty.shape == (0, 3) and empty.data.shape == (0, 3)
    assert scalar.shape == () and scalar.data.item() == 2.5


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
def test_a_parameter_brings_its_grad_and_its_history_is_named() -> None:
    w = torch.nn.Parameter(torch.ones(2))
    (w * 3).sum().backward()
    got = round_trip([w, w * 2])
    param, product = got
    assert param.is_parameter and param.requires_grad and param.is_leaf and param.grad_fn is None
    assert isinstance(param.grad, TensorRef) and torch.equal(param.grad.data, torch.full((2,), 3.0))
    assert param.grad.grad is None  # a grad's own grad is never sent
    assert not product.is_leaf and product.grad_fn == "MulBackward0" and product.grad is None


def test_a_lazy_parameter_has_no_shape_and_no_values() -> None:
    lazy = torch.nn.LazyLinear(3).weight
    got = round_trip(lazy)
    assert got.lazy and got.shape is None and got.data is None and got.is_parameter


def test_identity_is_an_oid_equal_within_one_encoder() -> None:
    layer = torch.nn.Linear(2, 2)
    enc = codec.Encoder()
    a, b, w = round_trip([layer, layer, layer.weight], enc)
    assert isinstance(a, ModuleRef) and a.cls == "torch.nn.modules.linear.Linear"
    assert a.oid == b.oid != w.oid
    again = round_trip(layer.weight, enc)
    assert again.oid == w.oid
    assert round_trip(torch.nn.Linear(2, 2), enc).oid not in (a.oid, w.oid)


def test_decoded_tensors_are_writable_copies() -> None:
    t = torch.zeros(3)
    got = round_trip(t)
    got.data += 1
    assert torch.equal(t, torch.zeros(3)), "the parent's copy must not share the sender's memory"


# ---------------------------------------------------------------- exceptions

def test_an_exception_becomes_raised_with_its_bases() -> None:
    node = codec.raised(KeyError("missing"))
    got = codec.decode(node, [])
    assert isinstance(got, Raised) and got.type == "KeyError" and got.message == "'missing'"
    assert got.is_a("LookupError") and got.is_a("Exception") and not got.is_a("ValueError")
    assert "traceback" not in node  # nothing reads one: it is not sent


def test_an_exception_whose_str_fails_still_encodes() -> None:
    class Nasty(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    got = codec.decode(codec.raised(Nasty()), [])
    assert got.type == "Nasty" and got.message == "<message unavailable>"
    assert codec.decode(codec.raised(ValueError("x" * 5000)), []).message == "x" * 2000


# ---------------------------------------------------------------- malformed input

def tensor_node(**fields: Any) -> dict:
    return {"t": "tensor", "oid": 0, "dtype": "float32", "shape": [2], "blob": 0, **fields}


@pytest.mark.parametrize("node, blobs", [
    ([], []),  # not an object
    ({"t": "nope"}, []),  # an unknown tag
    ({"t": "dtype", "v": "Tensor"}, []),  # a torch name that is no dtype
    ({"t": "dtype", "v": "no_such_dtype"}, []),
    (tensor_node(dtype="object"), [b"\x00" * 8]),  # a dtype off the whitelist
    (tensor_node(shape=[-2]), [b""]),
    (tensor_node(shape="2"), [b"\x00" * 8]),
    (tensor_node(), [b"\x00" * 7]),  # bytes that do not match the shape
    (tensor_node(shape=[2**40, 2**40]), [b"\x00" * 8]),  # a huge shape over a small blob
    ({"t": "list", "v": [{"t": "snapshot"}]}, []),  # nested junk
], ids=["not-an-object", "unknown-tag", "not-a-dtype", "no-such-dtype", "tensor-dtype", "negative-shape",
        "shape-not-a-list", "short-bytes", "huge-shape", "nested-unknown"])
def test_malformed_nodes_are_channel_errors(node: Any, blobs: list[bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "_DECODERS", {})  # as in the child: no snapshot decoder
    with pytest.raises(ChannelError):
        codec.decode(node, blobs)


@pytest.mark.parametrize("node", [{"t": "tensor", "dtype": "float32", "shape": [1], "blob": 5},
                                  {"t": "module"}, {"t": "int", "v": "x"}, {"t": "list", "v": 3},
                                  {"t": "dict", "v": [[{"t": "int", "v": 1}]]}])
def test_other_malformed_nodes_raise_what_the_parent_catches(node: dict) -> None:
    # student.py treats these (and ChannelError) as a malformed answer: the child is killed
    with pytest.raises((ChannelError, KeyError, TypeError, ValueError, IndexError)):
        codec.decode(node, [])


def test_an_unhashable_key_gets_a_readable_stand_in() -> None:
    node = {"t": "dict", "v": [[{"t": "list", "v": [{"t": "int", "v": 1}]}, {"t": "int", "v": 2}]]}
    assert codec.decode(node, []) == {"[1]": 2}


# ---------------------------------------------------------------- the decoder hook

def test_a_registered_decoder_decodes_its_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "_DECODERS", {})
    node = {"t": "pair", "a": {"t": "int", "v": 1}, "blob": 0}
    with pytest.raises(ChannelError, match="unknown value tag 'pair'"):
        codec.decode(node, [b"x"])
    seen: list[tuple[dict, list[bytes]]] = []

    def pair(n: dict, blobs: list[bytes]) -> tuple:
        seen.append((n, blobs))
        return codec.decode(n["a"], blobs), blobs[n["blob"]]

    codec.register_decoder("pair", pair)
    codec.register_decoder("pair", pair)  # the same decoder again: harmless
    assert codec.decode({"t": "list", "v": [node]}, [b"x"]) == [(1, b"x")]
    assert seen == [(node, [b"x"])]


def test_a_tag_cannot_be_taken_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "_DECODERS", {})
    codec.register_decoder("pair", lambda n, b: 1)
    with pytest.raises(ValueError, match="already has a decoder"):
        codec.register_decoder("pair", lambda n, b: 2)
    for tag in codec.BUILTIN_TAGS:
        with pytest.raises(ValueError, match="the codec's own"):
            codec.register_decoder(tag, lambda n, b: None)
    assert codec.decode({"t": "pair"}, []) == 1


def test_the_parent_decodes_snapshots_once_student_is_imported() -> None:
    from autograder.engine import student  # noqa: F401  (registers the snapshot decoder)
    from autograder.engine.snapshot import Snapshot, take

    linear = torch.nn.Linear(2, 2)
    net = torch.nn.Sequential(linear)
    enc = codec.Encoder()
    node = take(net, enc)
    snap = codec.decode({"t": "list", "v": [node]}, enc.blobs)[0]
    assert isinstance(snap, Snapshot) and [n for n, _ in snap.named_params] == ["0.weight", "0.bias"]
    assert torch.equal(snap.param_named("0.bias").data, linear.bias.detach())


# ---------------------------------------------------------------- layering

def engine_imports() -> dict[str, set[str]]:
    """Each engine module's imports of other engine modules, read from the source (not executed)."""
    names = {p.stem for p in ENGINE.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in ENGINE.glob("*.py"):
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("autograder.engine."):
                deps.add(node.module.split(".")[2])
            elif isinstance(node, ast.Import):
                deps |= {a.name.split(".")[2] for a in node.names if a.name.startswith("autograder.engine.")}
        graph[path.stem] = deps & names
    return graph


def test_the_channel_modules_import_nothing_built_on_them() -> None:
    graph = engine_imports()
    assert graph["values"] == set() and graph["framing"] == set()
    assert graph["codec"] == {"framing", "values"}, "the codec must not import the snapshot (or anything on top)"


def test_the_engine_has_no_import_cycle() -> None:
    graph = engine_imports()
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            pytest.fail("import cycle: " + " -> ".join(path[path.index(name):] + [name]))
        if name in done:
            return
        for dep in sorted(graph[name]):
            visit(dep, path + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
