"""Values on the channel: tagged JSON nodes plus raw tensor bytes, in both directions.

Each value is a JSON object with a type tag ``t`` so that the graders can judge the contract's
types (``torch.Size`` is a tuple, a NumPy integer is an integer, a Parameter is an object with
an identity) without ever holding a student's object. Tensors travel as raw bytes in the frame's
blobs (``framing.py``) and are rebuilt with ``torch.frombuffer`` from a whitelist of dtypes after
their sizes are checked.

``Encoder`` runs in the child (the student's values) and in the parent (probe arguments);
``decode`` runs in the parent (answers) and in the child (arguments). Tags this module does not
know can be given a decoder from outside (``register_decoder``): ``student.py`` registers the
snapshot's, so this module never imports the modules built on it.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from .framing import ChannelError
from .values import ModuleRef, NumpyFloat, NumpyInt, Opaque, Raised, Refusal, TensorRef, TorchSize

DTYPES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
          "complex64", "complex128")
# The tags ``decode`` knows itself: no registered decoder may take one of them over.
BUILTIN_TAGS = frozenset({"none", "bool", "str", "int", "float", "np", "list", "tuple", "size", "dict", "tensor",
                          "dtype", "module", "object", "raised"})

Decoder = Callable[[dict[str, Any], list[bytes]], Any]  # (node, blobs) -> value
_DECODERS: dict[str, Decoder] = {}


def register_decoder(tag: str, decoder: Decoder) -> None:
    """Decode nodes tagged ``tag`` with ``decoder(node, blobs)`` from now on.

    Registering the same decoder again is harmless; a built-in tag, or a tag another decoder
    already has, is a ``ValueError`` (two meanings for one tag would be an engine bug).
    """
    if tag in BUILTIN_TAGS:
        raise ValueError(f"the value tag {tag!r} is the codec's own")
    current = _DECODERS.get(tag)
    if current is not None and current != decoder:
        raise ValueError(f"the value tag {tag!r} already has a decoder ({current!r})")
    _DECODERS[tag] = decoder


# ---------------------------------------------------------------- decoding

def decode(node: Any, blobs: list[bytes]) -> Any:
    """Rebuild a value from its tagged JSON form; a malformed node is a ``ChannelError``
    (or a ``KeyError``, ``TypeError``, ``ValueError`` or ``IndexError``, which callers catch too)."""
    if not isinstance(node, dict):
        raise ChannelError("malformed value")
    t = node.get("t")
    v: Any = node.get("v")  # untrusted: a wrong kind of value raises, as the docstring says
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
        mapping = {}
        for k, x in v:
            key = decode(k, blobs)
            try:
                mapping[key] = decode(x, blobs)
            except TypeError:  # unhashable key: keep a readable stand-in
                mapping[repr(key)] = decode(x, blobs)
        return mapping
    if t == "tensor":
        return decode_tensor(node, blobs)
    if t == "dtype":
        import torch

        dtype = getattr(torch, str(v), None)
        if not isinstance(dtype, torch.dtype):
            raise ChannelError("unknown dtype")
        return dtype
    if t == "module":
        return ModuleRef(oid=int(node["oid"]), cls=str(node["cls"]))
    if t == "object":
        return Opaque(cls=str(node.get("cls")), repr=str(node.get("repr")))
    if t == "raised":
        params = node.get("params") or {}
        return Raised(type=str(node.get("type")), message=str(node.get("message")),
                      bases=[str(b) for b in node.get("bases", [])], code=str(node.get("code") or ""),
                      params={str(k): str(p) for k, p in dict(params).items()})
    decoder = _DECODERS.get(t) if isinstance(t, str) else None
    if decoder is not None:
        return decoder(node, blobs)
    raise ChannelError(f"unknown value tag {t!r}")


def decode_tensor(node: dict[str, Any], blobs: list[bytes]) -> TensorRef:
    """A tensor node as a ``TensorRef``: its values checked against its dtype and shape, then rebuilt."""
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
        if len(raw) != numel * tdtype.itemsize:
            raise ChannelError("tensor bytes do not match its shape")
        data = (torch.frombuffer(bytearray(raw), dtype=tdtype).reshape(shape) if numel
                else torch.empty(shape, dtype=tdtype))
    grad = node.get("grad")
    return TensorRef(
        oid=int(node["oid"]), cls=str(node.get("cls")), dtype=str(dtype),
        shape=tuple(shape) if isinstance(shape, list) else None,
        requires_grad=bool(node.get("requires_grad")), is_leaf=bool(node.get("is_leaf")),
        grad_fn=node.get("grad_fn"), is_parameter=bool(node.get("param")), lazy=bool(node.get("lazy")),
        data=data, grad=decode_tensor(grad, blobs) if isinstance(grad, dict) else None,
    )


# ---------------------------------------------------------------- encoding

class Identities:
    """Small integers for object identity within one program; holds references so ids are not reused."""

    def __init__(self) -> None:
        self._by_id: dict[int, int] = {}
        self._keep: list[Any] = []

    def of(self, obj: Any) -> int:
        """The object's small integer, the same for every encoding of it in this program."""
        key = id(obj)
        if key not in self._by_id:
            self._by_id[key] = len(self._keep)
            self._keep.append(obj)
        return self._by_id[key]


class Encoder:
    """Turn objects into tagged JSON plus blobs. Used in the child for student values
    (with guards: a student's ``__repr__`` may raise) and in the parent for arguments."""

    MAX_ITEMS = 100_000
    MAX_DEPTH = 32

    def __init__(self, identities: Identities | None = None, blobs: list[bytes] | None = None) -> None:
        """``blobs``: the list a node's blob index points into (a new one by default), shared by the
        encoders of one frame."""
        self.blobs: list[bytes] = blobs if blobs is not None else []
        self.ids = identities if identities is not None else Identities()
        self.items = 0
        self.opaques = 0  # how many objects were encoded as stand-ins (``opaque``) so far

    def blob(self, data: bytes) -> int:
        """Add raw bytes to the frame's blobs; their index is what a node names."""
        self.blobs.append(data)
        return len(self.blobs) - 1

    def encode(self, obj: Any, depth: int = 0) -> dict[str, Any]:
        """The tagged JSON node of ``obj`` (its tensors' bytes go to ``blobs``)."""
        import torch

        self.items += 1
        if self.items > self.MAX_ITEMS or depth > self.MAX_DEPTH:
            raise Refusal("too_large")
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

    def opaque(self, obj: Any) -> dict[str, Any]:
        """Any other object: its class name and a truncated repr."""
        self.opaques += 1
        try:
            text = repr(obj)[:300]
        except BaseException:  # a student's __repr__ may do anything
            text = "<repr failed>"
        return {"t": "object", "cls": _qualname(obj), "repr": text}

    def tensor(self, t: Any, with_grad: bool = True) -> dict[str, Any]:
        """A tensor's node: identity, metadata, its values as a blob (none while lazy), and its ``.grad``."""
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


def _qualname(obj: Any) -> str:
    cls = type(obj)
    if cls.__module__ in ("builtins", "__main__"):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def raised(exc: BaseException) -> dict[str, Any]:
    """Encode an exception the student's code raised (child side): its class, message and bases; the kit's
    own ``Refusal`` as its code and values (the parent words it)."""
    if type(exc) is Refusal:
        return {"t": "raised", "type": "Refusal", "message": exc.code, "bases": ["Exception"], "code": exc.code,
                "params": {str(k): str(v)[:300] for k, v in exc.params.items()}}
    try:
        message = str(exc)[:2000]
    except BaseException:  # a student's __str__ may do anything
        message = "<message unavailable>"
    return {"t": "raised", "type": type(exc).__name__, "message": message,
            "bases": [c.__name__ for c in type(exc).__mro__[1:]]}
