"""Frames: a length, a JSON header listing blob sizes, the blobs; every size checked before it is read."""
from __future__ import annotations

import json
import os
import struct
from typing import Callable, Sequence

import pytest

from autograder.engine import framing
from autograder.engine.framing import ChannelError, FrameLimit, FrameTooLarge


def reader(data: bytes) -> tuple[Callable[[int], bytes], list[int]]:
    """``read(n)`` over ``data`` as the sandbox's reader behaves (exactly n bytes, or ChannelError),
    and the sizes it was asked for."""
    pos, asked = [0], []

    def read(n: int) -> bytes:
        asked.append(n)
        if pos[0] + n > len(data):
            raise ChannelError("the channel closed")
        pos[0] += n
        return data[pos[0] - n:pos[0]]

    return read, asked


def raw_frame(header: object, blobs: Sequence[bytes] = ()) -> bytes:
    """A frame whose header is any JSON value, as a forged frame may be."""
    data = json.dumps(header).encode()
    return struct.pack("<I", len(data)) + data + b"".join(blobs)


def test_a_frame_round_trips_with_its_blobs_in_order() -> None:
    blobs = [b"abc", b"", b"\x00" * 10]
    read, _ = reader(framing.encode_frame({"event": "x", "n": 1.5}, blobs))
    header, got = framing.parse_frame(read)
    assert header == {"event": "x", "n": 1.5, "blobs": [3, 0, 10]}
    assert got == blobs


def test_non_finite_floats_survive_the_header() -> None:
    read, _ = reader(framing.encode_frame({"v": [float("inf"), float("-inf")]}))
    assert framing.parse_frame(read)[0]["v"] == [float("inf"), float("-inf")]


def test_write_frame_and_read_frame_over_a_pipe() -> None:
    rfd, wfd = os.pipe()
    try:
        framing.write_frame(wfd, {"cmd": "exit"}, [b"12345"])
        assert framing.read_frame(rfd) == ({"cmd": "exit", "blobs": [5]}, [b"12345"])
        os.close(wfd)
        wfd = -1
        with pytest.raises(ChannelError, match="closed"):  # the other side went away
            framing.read_frame(rfd)
    finally:
        os.close(rfd)
        if wfd >= 0:
            os.close(wfd)


@pytest.mark.parametrize("cut", [0, 2, 4, 10, -1])
def test_a_truncated_frame_is_a_channel_error(cut: int) -> None:
    data = framing.encode_frame({"event": "x"}, [b"0123456789"])
    read, _ = reader(data[:cut] if cut >= 0 else data[:-1])
    with pytest.raises(ChannelError):
        framing.parse_frame(read)


def test_an_oversized_header_is_refused_before_it_is_read() -> None:
    read, asked = reader(struct.pack("<I", framing.FROM_CHILD.header + 1))
    with pytest.raises(FrameTooLarge):
        framing.parse_frame(read)
    assert asked == [4], "only the length may be read"


def test_oversized_blobs_are_refused_before_they_are_read() -> None:
    # the parent's limit on a frame from the child: 64 MiB in all, header included
    assert framing.FROM_CHILD.total == 64 * 2**20
    head = raw_frame({"event": "program_done", "blobs": [framing.FROM_CHILD.total]})
    read, asked = reader(head)
    with pytest.raises(FrameTooLarge, match="over the limit"):
        framing.parse_frame(read)
    assert sum(asked) == len(head), "no blob byte may be read"


def test_the_limit_counts_the_header_with_the_blobs() -> None:
    small = FrameLimit(header=64, total=100)
    header = {"x": 1, "blobs": [10]}
    size = len(json.dumps(header).encode())
    read, _ = reader(raw_frame(header, [b"0123456789"]))
    assert framing.parse_frame(read, small) == (header, [b"0123456789"])
    over = {"x": 1, "blobs": [100 - size + 1]}
    read, _ = reader(raw_frame(over, [b"x" * (100 - size + 1)]))
    with pytest.raises(FrameTooLarge):
        framing.parse_frame(read, small)
    assert framing.FROM_PARENT.total > framing.FROM_CHILD.total  # cells and arguments may be larger


@pytest.mark.parametrize("data", [
    struct.pack("<I", 3) + b"{x}",  # not JSON
    struct.pack("<I", 2) + b"\xff\xfe",  # not UTF-8
    raw_frame([1, 2]),  # a header that is not an object
    raw_frame({"event": "x"}),  # no blob list
    raw_frame({"blobs": "3"}),
    raw_frame({"blobs": [-1]}),
    raw_frame({"blobs": [1.0]}),
    raw_frame({"blobs": [True]}),  # a bool is no size
    raw_frame({"blobs": [0] * (framing.MAX_BLOB_COUNT + 1)}),
    struct.pack("<I", 200_000) + b"[" * 100_000 + b"]" * 100_000,  # nested past json's recursion limit
], ids=["not-json", "not-utf8", "not-an-object", "no-blobs", "blobs-not-a-list", "negative-size", "float-size",
        "bool-size", "too-many-blobs", "deep-nesting"])
def test_junk_is_a_channel_error(data: bytes) -> None:
    read, _ = reader(data)
    with pytest.raises(ChannelError):
        framing.parse_frame(read, FrameLimit(header=2**24, total=2**25))
