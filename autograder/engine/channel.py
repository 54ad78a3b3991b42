"""The probe channel: framed messages of plain data between the parent and the child.

A frame is a 4-byte length, a JSON header, then the raw bytes of the tensors the
header lists (dtype, shape, byte length). Nothing is pickled in either
direction: JSON is parsed with ``json.loads`` and tensors are rebuilt with
``torch.frombuffer`` from a whitelist of dtypes after their sizes are checked.

Values are encoded with a type tag so the graders can judge the contract's
types (``torch.Size`` is a tuple, a NumPy integer is an integer, a Parameter
is an object with an identity) without ever holding a student's object.
"""
from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class FrameLimit:
    """How large a frame one side accepts: its JSON header, and the whole frame (header plus blobs)."""

    header: int
    total: int


# What the parent accepts from the child: an answer is a few tensors of probe-sized modules.
# A frame over it costs the question (the child is killed); nothing of it is ever allocated.
FROM_CHILD = FrameLimit(header=8 * 2**20, total=64 * 2**20)
# What the child accepts from the (trusted) parent: the submission's cells, probe arguments.
FROM_PARENT = FrameLimit(header=32 * 2**20, total=544 * 2**20)
MAX_HEADER, MAX_BLOBS = FROM_PARENT.header, FROM_PARENT.total - FROM_PARENT.header  # the former names
MAX_BLOB_COUNT = 1_000_000
DTYPES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
          "complex64", "complex128")


class ChannelError(Exception):
    """The other side sent something that is not a valid frame, or went away."""


class FrameTooLarge(ChannelError):
    """A frame declared more bytes than this side accepts (refused before reading them)."""


# ---------------------------------------------------------------- framing

def _read_exact(fd: int, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise ChannelError("the channel closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def write_frame(fd: int, header: dict, blobs: list[bytes] = ()) -> None:
    """Write one frame: header JSON (with blob sizes) followed by the blobs."""
    header = dict(header, blobs=[len(b) for b in blobs])
    data = json.dumps(header, allow_nan=True, separators=(",", ":")).encode()
    payload = b"".join([struct.pack("<I", len(data)), data, *blobs])
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view):]


def read_frame(fd: int, limit: FrameLimit = FROM_PARENT) -> tuple[dict, list[bytes]]:
    """Read one frame from ``fd`` (blocking; the child reads the parent's requests this way)."""
    return parse_frame(lambda n: _read_exact(fd, n), limit)


def parse_frame(read: Callable[[int], bytes], limit: FrameLimit = FROM_CHILD) -> tuple[dict, list[bytes]]:
    """One frame from ``read(n)`` (exactly n bytes, or an exception), for both sides of the channel.

    Every declared size is checked against ``limit`` before the bytes are read, so an oversized
    frame is never allocated: the header's length first, then the blob sizes the header lists.
    The default is the parent's limit for frames from the child (``FROM_CHILD``).
    """
    (size,) = struct.unpack("<I", read(4))
    if size > limit.header or size > limit.total:
        raise FrameTooLarge(f"a frame header of {size} bytes is over the limit of {limit.header} bytes")
    try:
        header = json.loads(read(size))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ChannelError(f"frame header is not JSON: {str(exc)[:200]}") from None
    sizes = header.get("blobs") if isinstance(header, dict) else None
    if not isinstance(sizes, list) or len(sizes) > MAX_BLOB_COUNT \
            or not all(type(s) is int and s >= 0 for s in sizes):
        raise ChannelError("frame header has no valid blob list")
    total = size + sum(sizes)
    if total > limit.total:
        raise FrameTooLarge(f"a frame of {total} bytes is over the limit of {limit.total} bytes")
    return header, [read(s) for s in sizes]


# ---------------------------------------------------------------- decoded values (parent side)

class NumpyInt(int):
    """A NumPy integer the student returned: an int that remembers its dtype."""
    dtype: str = "int64"


class NumpyFloat(float):
    """A NumPy float the student returned."""
    dtype: str = "float64"


class TorchSize(tuple):
    """A ``torch.Size`` the student returned: it is a tuple, as the contract says."""


@dataclass(eq=False)
class TensorRef:
    """What the parent knows of one tensor in the child: identity, metadata and values."""

    oid: int  # identity within one program: equal oids are the same object in the child
    cls: str
    dtype: str
    shape: tuple[int, ...] | None  # None for an uninitialized (lazy) parameter
    requires_grad: bool
    is_leaf: bool
    grad_fn: str | None
    is_parameter: bool
    lazy: bool
    data: Any = None  # torch.Tensor in the parent, or None if lazy
    grad: "TensorRef | None" = None


@dataclass(eq=False)
class ModuleRef:
    """An ``nn.Module`` in the child, known by identity and class name."""

    oid: int
    cls: str
    is_module: bool = True


@dataclass(eq=False)
class Opaque:
    """Any other object: its class and a (truncated) repr, never the object itself."""

    cls: str
    repr: str
    callable: bool = False


@dataclass
class Raised:
    """An exception raised by the student's code in the child."""

    type: str
    message: str
    traceback: str = ""
    bases: list[str] = field(default_factory=list)  # the exception's class hierarchy, by name

    def is_a(self, name: str) -> bool:
        return name == self.type or name in self.bases


def decode(node: Any, blobs: list[bytes]) -> Any:
    """Rebuild a value from its tagged JSON form (parent side, trusted code)."""
    if not isinstance(node, dict):
        raise ChannelError("malformed value")
    t = node.get("t")
    v = node.get("v")
    if t == "none":
        return None
    if t in ("bool", "str"):
        return v
    if t == "int":
        return int(v)
    if t == "float":
        return float(v)
    if t == "np":
        kind = NumpyFloat if node.get("kind") == "f" else NumpyInt
        out = kind(v)
        out.dtype = str(node.get("dtype"))
        return out
    if t == "list":
        return [decode(x, blobs) for x in v]
    if t == "tuple":
        return tuple(decode(x, blobs) for x in v)
    if t == "size":
        return TorchSize(decode(x, blobs) for x in v)
    if t == "dict":
        out = {}
        for k, x in v:
            key = decode(k, blobs)
            try:
                out[key] = decode(x, blobs)
            except TypeError:  # unhashable key: keep a readable stand-in
                out[repr(key)] = decode(x, blobs)
        return out
    if t == "tensor":
        return _decode_tensor(node, blobs)
    if t == "dtype":
        import torch

        dtype = getattr(torch, str(v), None)
        if not isinstance(dtype, torch.dtype):
            raise ChannelError("unknown dtype")
        return dtype
    if t == "module":
        return ModuleRef(oid=int(node["oid"]), cls=str(node["cls"]))
    if t == "object":
        return Opaque(cls=str(node.get("cls")), repr=str(node.get("repr")), callable=bool(node.get("callable")))
    if t == "raised":
        return Raised(type=str(node.get("type")), message=str(node.get("message")),
                      traceback=str(node.get("traceback", "")), bases=[str(b) for b in node.get("bases", [])])
    if t == "snapshot":
        from .snapshot import Snapshot
        return Snapshot.decode(node, blobs)
    raise ChannelError(f"unknown value tag {t!r}")


def _decode_tensor(node: dict, blobs: list[bytes]) -> TensorRef:
    import torch

    dtype = node.get("dtype")
    shape = node.get("shape")
    data = None
    if node.get("blob") is not None:
        if dtype not in DTYPES or not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
            raise ChannelError("malformed tensor")
        raw = blobs[int(node["blob"])]
        tdtype = getattr(torch, dtype)
        numel = math.prod(shape)
        if len(raw) != numel * torch.empty((), dtype=tdtype).element_size():
            raise ChannelError("tensor bytes do not match its shape")
        data = torch.frombuffer(bytearray(raw), dtype=tdtype).reshape(shape) if numel else torch.empty(shape, dtype=tdtype)
    grad = node.get("grad")
    return TensorRef(
        oid=int(node["oid"]), cls=str(node.get("cls")), dtype=str(dtype),
        shape=tuple(shape) if isinstance(shape, list) else None,
        requires_grad=bool(node.get("requires_grad")), is_leaf=bool(node.get("is_leaf")),
        grad_fn=node.get("grad_fn"), is_parameter=bool(node.get("param")), lazy=bool(node.get("lazy")),
        data=data, grad=_decode_tensor(grad, blobs) if isinstance(grad, dict) else None,
    )


# ---------------------------------------------------------------- encoding (both sides)

class Encoder:
    """Turn objects into tagged JSON plus blobs. Used in the child for student values
    (with guards: a student's ``__repr__`` may raise) and in the parent for arguments."""

    MAX_ITEMS = 100_000
    MAX_DEPTH = 32

    def __init__(self, identities: "Identities | None" = None) -> None:
        self.blobs: list[bytes] = []
        self.ids = identities if identities is not None else Identities()
        self.items = 0

    def blob(self, data: bytes) -> int:
        self.blobs.append(data)
        return len(self.blobs) - 1

    def encode(self, obj: Any, depth: int = 0) -> dict:
        import torch

        self.items += 1
        if self.items > self.MAX_ITEMS or depth > self.MAX_DEPTH:
            raise ValueError("the value is too large or too deeply nested to be graded")
        if obj is None:
            return {"t": "none"}
        # exact type checks first: a student's subclass of int must not pass as an int
        if type(obj) is bool:
            return {"t": "bool", "v": obj}
        if type(obj) is int:
            return {"t": "int", "v": obj} if abs(obj) < 2**63 else {"t": "float", "v": float(obj)}
        if type(obj) is float:
            return {"t": "float", "v": obj}
        if type(obj) is str:
            return {"t": "str", "v": obj[:100_000]}
        if isinstance(obj, torch.Tensor):
            return self.tensor(obj)
        if isinstance(obj, torch.nn.Module):
            return {"t": "module", "oid": self.ids.of(obj), "cls": _qualname(obj)}
        if isinstance(obj, torch.dtype):
            return {"t": "dtype", "v": str(obj).replace("torch.", "")}
        if isinstance(obj, torch.Size):
            return {"t": "size", "v": [self.encode(int(x), depth + 1) for x in obj]}
        # containers by kind: an OrderedDict is a dict and a namedtuple a tuple (their items are judged one by one)
        if isinstance(obj, list):
            return {"t": "list", "v": [self.encode(x, depth + 1) for x in list.__iter__(obj)]}
        if isinstance(obj, tuple):
            return {"t": "tuple", "v": [self.encode(x, depth + 1) for x in tuple.__iter__(obj)]}
        if isinstance(obj, dict):
            return {"t": "dict", "v": [[self.encode(k, depth + 1), self.encode(x, depth + 1)]
                                       for k, x in dict.items(obj)]}
        np_type = type(obj).__module__ == "numpy" and hasattr(obj, "dtype") and getattr(obj, "shape", None) == ()
        if np_type:
            kind = obj.dtype.kind
            if kind in "iu":
                return {"t": "np", "kind": "i", "dtype": str(obj.dtype), "v": int(obj)}
            if kind == "f":
                return {"t": "np", "kind": "f", "dtype": str(obj.dtype), "v": float(obj)}
        return self.opaque(obj)

    def opaque(self, obj: Any) -> dict:
        try:
            text = repr(obj)[:300]
        except BaseException:  # a student's __repr__ may do anything
            text = "<repr failed>"
        return {"t": "object", "cls": _qualname(obj), "repr": text, "callable": callable(obj)}

    def tensor(self, t: Any, with_grad: bool = True) -> dict:
        import torch
        from torch.nn.parameter import is_lazy

        lazy = is_lazy(t)
        node = {
            "t": "tensor", "oid": self.ids.of(t), "cls": _qualname(t),
            "param": isinstance(t, torch.nn.Parameter), "lazy": lazy,
            "dtype": str(t.dtype).replace("torch.", ""),
            "requires_grad": bool(t.requires_grad), "is_leaf": bool(t.is_leaf),
            "grad_fn": type(t.grad_fn).__name__ if t.grad_fn is not None else None,
            "shape": None, "blob": None, "grad": None,
        }
        if not lazy:
            plain = torch.Tensor(t.detach()) if type(t) is not torch.Tensor else t.detach()
            plain = plain.cpu().contiguous()
            if plain.is_sparse or plain.is_quantized:
                plain = plain.to_dense() if plain.is_sparse else plain.dequantize()
            node["shape"] = list(plain.shape)
            if node["dtype"] in DTYPES:
                node["blob"] = self.blob(plain.numpy().tobytes() if plain.dtype != torch.bfloat16
                                         else plain.view(torch.int16).numpy().tobytes())
            if with_grad and t.grad is not None:
                node["grad"] = self.tensor(t.grad, with_grad=False)
        return node


class Identities:
    """Small integers for object identity within one program; holds references so ids are not reused."""

    def __init__(self) -> None:
        self._by_id: dict[int, int] = {}
        self._keep: list[Any] = []

    def of(self, obj: Any) -> int:
        key = id(obj)
        if key not in self._by_id:
            self._by_id[key] = len(self._keep)
            self._keep.append(obj)
        return self._by_id[key]


def _qualname(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}" if cls.__module__ not in ("builtins", "__main__") else cls.__qualname__


def raised(exc: BaseException, tb: str = "") -> dict:
    """Encode an exception the student's code raised (child side)."""
    try:
        message = str(exc)[:2000]
    except BaseException:
        message = "<message unavailable>"
    return {"t": "raised", "type": type(exc).__name__, "message": message, "traceback": tb[-4000:],
            "bases": [c.__name__ for c in type(exc).__mro__[1:]]}
