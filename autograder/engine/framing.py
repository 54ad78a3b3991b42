"""Frames on the channel between the parent and the child: length-prefixed JSON plus raw bytes.

A frame is a 4-byte little-endian length, a JSON header (which lists the byte length of every
blob under ``blobs``), then the blobs. Nothing is pickled in either direction: the header is
parsed with ``json.loads``, and every declared size is checked against the reading side's
``FrameLimit`` before the bytes are read, so an oversized frame is never allocated.

What the values in a header mean is the codec's business (``codec.py``), not this module's.
"""
from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from typing import Any, Callable, Sequence


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
MAX_BLOB_COUNT = 1_000_000


class ChannelError(Exception):
    """The other side sent something that is not a valid frame or value, or went away."""


class FrameTooLarge(ChannelError):
    """A frame declared more bytes than this side accepts (refused before reading them)."""


def _read_exact(fd: int, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise ChannelError("the channel closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def encode_frame(header: dict[str, Any], blobs: Sequence[bytes] = ()) -> bytes:
    """One frame's bytes: the header (with the blobs' sizes added as ``blobs``), then the blobs."""
    data = json.dumps(dict(header, blobs=[len(b) for b in blobs]), allow_nan=True, separators=(",", ":")).encode()
    return b"".join([struct.pack("<I", len(data)), data, *blobs])


def write_frame(fd: int, header: dict[str, Any], blobs: Sequence[bytes] = ()) -> None:
    """Write one frame to ``fd``: header JSON (with blob sizes) followed by the blobs."""
    view = memoryview(encode_frame(header, blobs))
    while view:
        view = view[os.write(fd, view):]


def read_frame(fd: int, limit: FrameLimit = FROM_PARENT) -> tuple[dict[str, Any], list[bytes]]:
    """Read one frame from ``fd`` (blocking; the child reads the parent's requests this way)."""
    return parse_frame(lambda n: _read_exact(fd, n), limit)


def parse_frame(read: Callable[[int], bytes], limit: FrameLimit = FROM_CHILD) -> tuple[dict[str, Any], list[bytes]]:
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
