"""The wire between grader and sandbox: values round-trip, and anything else is rejected."""

from __future__ import annotations

import base64
import io
import json
import os
import struct
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.trusted import protocol
from grader.trusted.protocol import ProtocolError, Ref, RngState


def no_other(value: object) -> object:
    raise AssertionError(f"{value!r} should have been encoded as data")


def no_refs(item: Ref | RngState) -> object:
    raise AssertionError(f"unexpected {item!r}")


def roundtrip(value: object) -> object:
    wire = protocol.encode(value, no_other)
    return protocol.decode(json.loads(json.dumps(wire)), no_refs)


def same(a: object, b: object) -> bool:
    """Equal values of equal types; arrays equal in dtype, shape and bits (NaN included)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (np.ndarray, np.generic)):
        return a.dtype == b.dtype and np.shape(a) == np.shape(b) and a.tobytes() == b.tobytes()
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (float, complex)):
        return repr(a) == repr(b)
    return a == b


dtypes = st.one_of(
    hnp.boolean_dtypes(), hnp.integer_dtypes(), hnp.floating_dtypes(), hnp.complex_number_dtypes()
)
arrays = hnp.arrays(dtypes, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    arrays,
    arrays.map(lambda a: a.reshape(-1)[0] if a.size else np.float64(0.0)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=5), st.integers()), inner, max_size=4),
    ),
    max_leaves=20,
)


@given(values)
def test_data_round_trips_exactly(value: object) -> None:
    assert same(roundtrip(value), value)


def test_objects_that_are_not_plain_data_stay_behind() -> None:
    class Liar(float):
        def __eq__(self, other: object) -> bool:
            return True

    seen = []
    for value in (Liar(1.0), object(), {(1, 2): 3}, np.array([object()]), np.array(["text"])):
        protocol.encode([value], lambda obj: seen.append(obj) or None)
    assert len(seen) == 5


def test_references_and_generator_states_go_through_resolve() -> None:
    generator = np.random.default_rng(3)
    wire = protocol.encode(
        [Ref("child", 7, "Affine"), RngState(generator.bit_generator.state)], no_other
    )
    ref, state = protocol.decode(json.loads(json.dumps(wire)), lambda item: item)
    assert ref == Ref("child", 7, "Affine")
    assert protocol.to_generator(state).normal() == generator.normal()


def npy(array: np.ndarray, **kwargs: object) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return base64.b64encode(buffer.getvalue()).decode()


MALFORMED = {
    "untagged list": [1, 2],
    "untagged dict": {"a": 1},
    "unknown tag": {"t": "pickle", "v": "gASVAAAA"},
    "extra key": {"t": "list", "v": [], "x": 1},
    "list body not a list": {"t": "tuple", "v": "abc"},
    "dict item not a pair": {"t": "dict", "v": [[1, 2, 3]]},
    "dict key a container": {"t": "dict", "v": [[[1], 2]]},
    "pickled object array": {
        "t": "array",
        "v": npy(np.array([{}], dtype=object), allow_pickle=True),
    },
    "string array": {"t": "array", "v": npy(np.array(["a", "b"]))},
    "structured array": {"t": "array", "v": npy(np.zeros(2, dtype=[("x", "f8")]))},
    "trailing bytes": {
        "t": "array",
        "v": base64.b64encode(base64.b64decode(npy(np.zeros(2))) + b"x").decode(),
    },
    "truncated array": {
        "t": "array",
        "v": base64.b64encode(base64.b64decode(npy(np.zeros(4)))[:-8]).decode(),
    },
    "not base64": {"t": "array", "v": "***"},
    "scalar of an array": {"t": "scalar", "v": npy(np.zeros(3))},
    "complex of text": {"t": "complex", "v": ["1", 2]},
    "malformed reference": {"t": "ref", "v": ["elsewhere", 1, "x"]},
    "reference inside a generator state": {"t": "rng", "v": {"t": "ref", "v": ["child", 1, "x"]}},
    "unknown bit generator": {
        "t": "rng",
        "v": protocol.encode({"bit_generator": "Evil"}, no_other),
    },
    "too deep": json.loads('{"t": "list", "v": [' * 80 + "]}" * 80),
}


@pytest.mark.parametrize("wire", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_values_are_rejected(wire: object) -> None:
    def resolve(item: Ref | RngState) -> object:
        return protocol.to_generator(item) if isinstance(item, RngState) else item

    with pytest.raises(ProtocolError):
        protocol.decode(wire, resolve)


@pytest.fixture
def pipe() -> protocol.Channel:
    read_fd, write_fd = os.pipe()
    channel = protocol.Channel(read_fd, write_fd)
    yield channel
    channel.close()


def test_frames_carry_json_objects(pipe: protocol.Channel) -> None:
    message = {"op": "call", "args": protocol.encode((np.arange(3.0), float("nan")), no_other)}
    pipe.send(message)
    received = pipe.receive(time.monotonic() + 5)
    assert received["op"] == "call"
    assert same(protocol.decode(received["args"], no_refs)[0], np.arange(3.0))


@pytest.mark.parametrize(
    "frame",
    [
        struct.pack(">Q", protocol.MAX_FRAME + 1),
        struct.pack(">Q", 5) + b"{not}",
        struct.pack(">Q", 9) + b"[1, 2, 3]",
    ],
    ids=["oversized", "not JSON", "not an object"],
)
def test_bad_frames_are_rejected(pipe: protocol.Channel, frame: bytes) -> None:
    os.write(pipe.write_fd, frame)
    with pytest.raises(ProtocolError):
        pipe.receive(time.monotonic() + 5)


def test_waiting_ends_at_the_deadline_or_when_the_writer_leaves(pipe: protocol.Channel) -> None:
    with pytest.raises(protocol.Deadline):
        pipe.receive(time.monotonic() + 0.05)
    os.close(pipe.write_fd)
    with pytest.raises(protocol.ChannelClosed):
        pipe.receive(time.monotonic() + 5)
    pipe.write_fd = os.open(os.devnull, os.O_WRONLY)


def test_a_message_too_large_to_send_is_refused(pipe: protocol.Channel) -> None:
    with pytest.raises(ProtocolError):
        pipe.send({"blob": "x" * (protocol.MAX_FRAME + 1)})


def test_exceptions_are_rebuilt_as_builtins_only() -> None:
    assert type(protocol.rebuild_exception("ValueError", "bad x")) is ValueError
    assert type(protocol.rebuild_exception("AssertionError", "")) is AssertionError
    for kind in (
        "SystemExit",
        "KeyboardInterrupt",
        "StopIteration",
        "MyError",
        "UnicodeDecodeError",
    ):
        error = protocol.rebuild_exception(kind, "message")
        assert type(error) is protocol.RemoteError
        assert str(error) == f"{kind}: message"


def test_leaves_walk_arguments_in_a_fixed_order() -> None:
    a, b, rng = np.zeros(1), np.ones(2), np.random.default_rng()
    found = list(protocol.leaves(({"W": a, "n": 3}, [rng, (b,)]), "args"))
    assert [path for path, _ in found] == ["args[0]['W']", "args[1][0]", "args[1][1][0]"]
    assert [value for _, value in found] == [a, rng, b]
