"""The wire between the grader and the sandbox child: length-prefixed frames of strict JSON.

Values travel by value when they are plain data, never pickled: ``None``, ``bool``, ``int``,
``float`` (NaN and infinities included), ``complex``, ``str``, numpy scalars, numpy arrays of
booleans or numbers (base64 of the npy file ``np.save(..., allow_pickle=False)`` writes), and
``list``/``tuple``/``dict`` made of these. Anything else stays in the process that owns it and
travels as a :class:`Ref` (a handle id). A random ``Generator`` travels as its state. Every
container and array is tagged; a decoder rejects unknown tags, extra keys, oversized frames and
arrays whose bytes do not match their header, so a hostile sender can only make a frame fail to
decode.
"""

from __future__ import annotations

import ast
import base64
import builtins
import functools
import json
import math
import os
import select
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_FRAME = 32 * 1024 * 1024
"""Largest frame, in bytes, either side accepts."""
MAX_DEPTH = 64
"""Deepest container nesting encoded or decoded; deeper values travel as references."""
MAX_TEXT = 10_000
"""Longest name or message the parent keeps from the child."""
MAX_ITEMS = 100_000
"""Most items the grader takes from iterating over, or ``len()`` of, a student's object."""
_HEADER = struct.Struct(">Q")
_NUMERIC_KINDS = frozenset("biufc")
RNG_BIT_GENERATORS = frozenset({"PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"})

Wire = Any
"""A JSON-ready value: what :func:`encode` makes of a value."""


class ProtocolError(Exception):
    """A frame that is too large, malformed, or not what the protocol allows."""


class ChannelClosed(ProtocolError):
    """The other side closed its end of the pipe (it exited or crashed)."""


class Deadline(Exception):
    """Waiting on the other side took longer than the deadline."""


@dataclass(frozen=True)
class Ref:
    """An object that stays in its owner's process: ``side`` is ``"child"`` or ``"parent"``.

    ``label`` names it for messages: a function's qualified name or an object's class name.
    """

    side: str
    id: int
    label: str


@dataclass(frozen=True)
class RngState:
    """The state of a ``numpy.random.Generator``, which travels by value."""

    state: dict[str, Any]


def to_generator(value: RngState) -> np.random.Generator:
    """A fresh Generator in the state ``value`` describes (a known bit generator only)."""
    name = value.state.get("bit_generator")
    if name not in RNG_BIT_GENERATORS:
        raise ProtocolError(f"unknown bit generator {name!r}")
    bit_generator = getattr(np.random, name)()
    try:
        bit_generator.state = value.state
    except (TypeError, ValueError, KeyError) as error:
        raise ProtocolError(f"invalid generator state: {error}") from None
    return np.random.Generator(bit_generator)


class RemoteError(Exception):
    """An exception raised in the other process whose class is not a built-in one."""


_BUILTIN_ERRORS = {
    name: cls
    for name, cls in vars(builtins).items()
    if isinstance(cls, type)
    and issubclass(cls, Exception)
    and not issubclass(cls, (StopIteration, StopAsyncIteration, Warning))
}


def rebuild_exception(kind: str, message: str) -> Exception:
    """The exception the other process reported: a built-in class of that name, when there is
    one, so ``except ValueError`` still works; else :class:`RemoteError` ("Kind: message").

    Never ``SystemExit`` or ``KeyboardInterrupt``: those are not ``Exception`` subclasses.
    """
    cls = _BUILTIN_ERRORS.get(kind)
    if cls is not None:
        try:
            return cls(message)
        except Exception:  # a class whose constructor wants other arguments
            pass
    return RemoteError(f"{kind}: {message}")


def leaves(value: object, path: str) -> Iterator[tuple[str, object]]:
    """The arrays and generators inside an argument, depth first, with a readable path.

    Both sides walk their own copy of a call's arguments in this order, so a leaf's ordinal
    names the same argument on both sides.
    """
    if isinstance(value, (np.ndarray, np.random.Generator)):
        yield path, value
    elif type(value) in (list, tuple):
        for i, item in enumerate(value):
            yield from leaves(item, f"{path}[{i}]")
    elif type(value) is dict:
        for key, item in value.items():
            yield from leaves(item, f"{path}[{key!r}]")


_NPY_MAGIC = b"\x93NUMPY"


@functools.lru_cache(maxsize=256)
def _npy_prefix(descr: str, shape: tuple[int, ...]) -> bytes:
    """Magic, version 1.0 and header of an npy file, padded as ``np.save`` pads it."""
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode("latin1")
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    return _NPY_MAGIC + b"\x01\x00" + len(header).to_bytes(2, "little") + header


def _array_to_text(array: np.ndarray) -> str:
    """The npy file ``np.save(..., allow_pickle=False)`` would write, in base64."""
    data = _npy_prefix(array.dtype.str, array.shape) + array.tobytes()
    return base64.b64encode(data).decode("ascii")


@functools.lru_cache(maxsize=256)
def _npy_header(header: bytes) -> tuple[np.dtype, tuple[int, ...], bool]:
    """dtype, shape and Fortran order of an npy header, or ProtocolError. Cached: the same few
    headers come back call after call, and parsing one costs more than copying the data."""
    try:
        fields = ast.literal_eval(header.decode("latin1"))
    except (SyntaxError, ValueError, UnicodeDecodeError, MemoryError, RecursionError):
        raise ProtocolError("unreadable npy header") from None
    if type(fields) is not dict or set(fields) != {"descr", "fortran_order", "shape"}:
        raise ProtocolError("npy header must hold descr, fortran_order and shape")
    descr, fortran, shape = fields["descr"], fields["fortran_order"], fields["shape"]
    if type(descr) is not str or type(fortran) is not bool or type(shape) is not tuple:
        raise ProtocolError("malformed npy header")
    if len(shape) > 32 or not all(type(n) is int and n >= 0 for n in shape):
        raise ProtocolError("malformed npy shape")
    try:
        dtype = np.dtype(descr)
    except (TypeError, ValueError):
        raise ProtocolError(f"unknown dtype {descr[:50]!r}") from None
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype:
        raise ProtocolError(f"arrays of dtype {dtype} are not accepted")
    return dtype, shape, fortran


def _text_to_array(text: object) -> np.ndarray:
    """Decode an npy file (format 1.0, as ``np.save`` writes it) of a boolean or numeric dtype:
    the data must be exactly as long as the header says. Never unpickles."""
    if not isinstance(text, str):
        raise ProtocolError("array payload must be a string")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ProtocolError("array payload is not base64") from None
    if raw[:8] != _NPY_MAGIC + b"\x01\x00" or len(raw) < 10:
        raise ProtocolError("array payload is not an npy 1.0 file")
    end = 10 + int.from_bytes(raw[8:10], "little")
    dtype, shape, fortran = _npy_header(raw[10:end])
    data = memoryview(raw)[end:]
    if len(data) != math.prod(shape) * dtype.itemsize:
        raise ProtocolError("array data does not match its header")
    flat = np.frombuffer(data, dtype=dtype)
    return flat.reshape(shape, order="F" if fortran else "C").copy(order="K")


def is_data_array(value: object) -> bool:
    """True for a numpy array of booleans or numbers (the arrays that travel by value)."""
    return (
        isinstance(value, np.ndarray)
        and value.dtype.kind in _NUMERIC_KINDS
        and value.dtype.fields is None
    )


def encode(value: object, other: Callable[[object], Wire], depth: int = 0) -> Wire:
    """The wire form of ``value``; ``other(obj)`` encodes what is not plain data (a reference).

    Only exact built-in types count as data, so an object whose class overrides ``__eq__`` or
    ``__float__`` (even a subclass of ``float``) is never copied into the other process.
    """
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if depth >= MAX_DEPTH:
        return other(value)
    if kind is complex:
        return {"t": "complex", "v": [value.real, value.imag]}
    if is_data_array(value):
        return {"t": "array", "v": _array_to_text(np.asarray(value))}
    if isinstance(value, np.generic) and value.dtype.kind in _NUMERIC_KINDS:
        return {"t": "scalar", "v": _array_to_text(np.asarray(value))}
    if kind in (list, tuple):
        return {"t": kind.__name__, "v": [encode(item, other, depth + 1) for item in value]}
    if kind is dict and all(type(key) in (str, int, float, bool) for key in value):
        items = [[key, encode(item, other, depth + 1)] for key, item in value.items()]
        return {"t": "dict", "v": items}
    if kind is Ref:
        return {"t": "ref", "v": [value.side, value.id, value.label]}
    if kind is RngState:
        return {"t": "rng", "v": encode(value.state, other, depth + 1)}
    return other(value)


def _number(value: object) -> float:
    if type(value) not in (int, float):
        raise ProtocolError("expected a number")
    return float(value)


def _decode_ref(body: object) -> Ref:
    if not (isinstance(body, list) and len(body) == 3):
        raise ProtocolError("a reference is [side, id, label]")
    side, ident, label = body
    if side not in ("child", "parent") or type(ident) is not int or not isinstance(label, str):
        raise ProtocolError("malformed reference")
    return Ref(side, ident, label[:200])


def decode(wire: Wire, resolve: Callable[[Ref | RngState], object], depth: int = 0) -> object:
    """The value of ``wire``; ``resolve`` turns a :class:`Ref` or :class:`RngState` into an object.

    Raises ProtocolError for anything :func:`encode` cannot have produced.
    """
    if wire is None or type(wire) in (bool, int, float, str):
        return wire
    if depth >= MAX_DEPTH + 2:
        raise ProtocolError("nesting too deep")
    if type(wire) is not dict or set(wire) != {"t", "v"}:
        raise ProtocolError("untagged or malformed value")
    tag, body = wire["t"], wire["v"]
    if tag in ("list", "tuple"):
        if type(body) is not list:
            raise ProtocolError(f"{tag} body must be a list")
        items = [decode(item, resolve, depth + 1) for item in body]
        return items if tag == "list" else tuple(items)
    if tag == "dict":
        if type(body) is not list:
            raise ProtocolError("dict body must be a list of pairs")
        result = {}
        for pair in body:
            if not (
                type(pair) is list and len(pair) == 2 and type(pair[0]) in (str, int, float, bool)
            ):
                raise ProtocolError("malformed dict item")
            result[pair[0]] = decode(pair[1], resolve, depth + 1)
        return result
    if tag == "array":
        return _text_to_array(body)
    if tag == "scalar":
        array = _text_to_array(body)
        if array.ndim != 0:
            raise ProtocolError("a scalar must be a 0-d array")
        return array[()]
    if tag == "complex":
        if not (type(body) is list and len(body) == 2):
            raise ProtocolError("complex body must be [real, imag]")
        return complex(_number(body[0]), _number(body[1]))
    if tag == "ref":
        return resolve(_decode_ref(body))
    if tag == "rng":
        state = decode(body, _no_refs, depth + 1)
        if type(state) is not dict:
            raise ProtocolError("generator state must be a dict")
        return resolve(RngState(state))
    raise ProtocolError(f"unknown tag {tag!r}")


def _no_refs(value: Ref | RngState) -> object:
    raise ProtocolError("a generator state cannot hold references")


class Channel:
    """One end of the protocol: frames of JSON over a pair of pipe file descriptors.

    Reads and writes wait with ``select`` so that every wait can end at a deadline
    (a ``time.monotonic()`` value, or ``None`` to wait for ever).
    """

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd

    def close(self) -> None:
        """Close both descriptors."""
        for fd in (self.read_fd, self.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass

    def send(self, message: dict[str, Wire], deadline: float | None = None) -> None:
        """Write one frame holding ``message``."""
        payload = json.dumps(message, separators=(",", ":")).encode()
        if len(payload) > MAX_FRAME:
            raise ProtocolError(f"message of {len(payload)} bytes exceeds {MAX_FRAME}")
        data = memoryview(_HEADER.pack(len(payload)) + payload)
        while data:
            _wait(self.write_fd, deadline, write=True)
            try:
                written = os.write(self.write_fd, data[: 1 << 16])
            except BlockingIOError:
                continue
            except OSError as error:  # EPIPE: the reader is gone
                raise ChannelClosed(str(error)) from None
            data = data[written:]

    def receive(self, deadline: float | None = None) -> dict[str, Wire]:
        """Read one frame; raise ProtocolError unless it holds a JSON object."""
        (size,) = _HEADER.unpack(self._read_exactly(_HEADER.size, deadline))
        if size > MAX_FRAME:
            raise ProtocolError(f"frame of {size} bytes exceeds {MAX_FRAME}")
        payload = self._read_exactly(size, deadline)
        try:
            message = json.loads(payload)
        except (ValueError, RecursionError) as error:
            raise ProtocolError(f"frame is not JSON: {error}") from None
        if type(message) is not dict:
            raise ProtocolError("a frame must hold a JSON object")
        return message

    def _read_exactly(self, size: int, deadline: float | None) -> bytes:
        chunks = bytearray()
        while len(chunks) < size:
            _wait(self.read_fd, deadline, write=False)
            try:
                chunk = os.read(self.read_fd, min(size - len(chunks), 1 << 20))
            except BlockingIOError:
                continue
            if not chunk:
                raise ChannelClosed("the other side closed the channel")
            chunks += chunk
        return bytes(chunks)


def _wait(fd: int, deadline: float | None, *, write: bool) -> None:
    timeout = None if deadline is None else deadline - time.monotonic()
    if timeout is not None and timeout <= 0:
        raise Deadline
    ready = select.select([], [fd], [], timeout) if write else select.select([fd], [], [], timeout)
    if not (ready[1] if write else ready[0]):
        raise Deadline
