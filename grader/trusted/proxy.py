"""The grader's side of the sandbox: start the child, restart it, and reach the student's objects.

:class:`Sandbox` owns one child process at a time (``python -m grader.trusted.sandbox``) and
talks to it over a private pair of pipes. :class:`Proxy` stands for an object that lives in the
child: calling it, reading or setting its attributes and items become requests; results come
back as data or as more proxies. A proxy never answers a question about its *value* (no
``__eq__``, ``__float__``, ``__array__``...), so a student's object cannot vouch for itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from nbformat import NotebookNode
from nbformat.v4 import new_output

from grader import phases
from grader.limits import Limits
from grader.trusted import environment, isolation, protocol
from grader.trusted.protocol import Deadline, ProtocolError, Ref, RngState, Wire

STARTUP_SECONDS = 60.0
"""Time the child gets to start Python, numpy and IPython before it runs the first cell."""
GRACE_SECONDS = 2.0
"""Time a cell gets beyond the cell limit to report that the child interrupted it."""


class SandboxFailure(Exception):
    """The child died, hung or broke the protocol; the current test fails with this message."""


class SandboxError(RuntimeError):
    """The child could not start before running any student code: the grading machine is at
    fault, not the submission, so no score should be recorded."""


class Violation(AssertionError):
    """A tripwire fired, or a function changed an argument in place."""


def _exit_status(returncode: int, isolated: bool) -> str:
    if isolated and returncode > 128:  # bubblewrap reports a child killed by signal N as 128 + N
        returncode = 128 - returncode
    if returncode >= 0:
        return f"exit code {returncode}"
    if -returncode == signal.SIGXCPU:
        return "it used up its CPU time"
    return f"killed by {signal.Signals(-returncode).name}"


class Sandbox:
    """The child process that holds the submission's objects, restarted after each failure.

    The child runs in ``workdir`` with ``HOME=home``; its log goes next to ``workdir``.
    ``cells`` are the sources to run, in order; ``forbid[i]`` names what test ``i`` forbids.
    Cells that ended or hung the child are skipped when it restarts.
    """

    def __init__(
        self,
        workdir: Path,
        home: Path,
        cells: Sequence[str],
        forbid: Sequence[Sequence[str]],
        limits: Limits,
        deadline: float,
        *,
        isolated: bool = True,
    ) -> None:
        self.workdir = workdir
        self.home = home
        self.isolated = isolated
        """Whether the child runs in bubblewrap (:mod:`grader.trusted.isolation`)."""
        self.cells = list(cells)
        self.forbid = [list(names) for names in forbid]
        self.limits = limits
        self.total_deadline = deadline
        self.cell_notes: dict[int, str] = {}
        """What went wrong in which cell (by index in ``cells``), for the feedback."""
        self.cell_outputs: dict[int, list[NotebookNode]] = {}
        """The outputs of each cell (by index in ``cells``) in the child's last run of them."""
        self.inplace = False
        """Whether the current test lets the student's functions change arguments in place."""
        self.failure: str | None = None
        self.violations: list[str] = []
        self.generation = 0
        self._skipped: set[int] = set()
        self._start_failure: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: protocol.Channel | None = None
        self._deadline = deadline
        self._exports: dict[int, object] = {}
        self._env = environment.prepare(home, isolated)

    # -- the child process ------------------------------------------------------------------

    def close(self) -> None:
        """Kill the child, if one runs."""
        if self._process is not None:
            self._stop()

    def _spawn(self) -> None:
        parent_read, child_write = os.pipe()
        child_read, parent_write = os.pipe()
        os.set_blocking(parent_write, False)
        command = [sys.executable, "-m", "grader.trusted.sandbox", str(child_read)]
        command += [str(child_write), "0" if self.isolated else str(os.getpid())]
        if self.isolated:
            writable = [self.workdir, self.home]
            isolation.prepare_writable(writable)
            command = isolation.wrap(command, writable=writable, workdir=self.workdir)
        with open(self.workdir.parent / "sandbox.log", "wb") as log:
            self._process = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(child_read, child_write),
                start_new_session=True,
            )
        os.close(child_read)
        os.close(child_write)
        self._channel = protocol.Channel(parent_read, parent_write)
        self.generation += 1
        self._exports.clear()

    def _stop(self, ended: bool = False) -> str:
        """Kill the child's process group, reap it and say how it ended (``ended``: the child
        closed the channel, so it is ending by itself)."""
        assert self._process is not None and self._channel is not None
        process, self._process = self._process, None
        if ended:  # let bubblewrap report how its child ended before it is killed
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(GRACE_SECONDS)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        returncode = process.wait()
        self._channel.close()
        self._channel = None
        return _exit_status(returncode, self.isolated)

    def _end(self, error: Exception) -> str:
        """Stop the child after ``error`` and describe what happened, for a student."""
        status = self._stop(ended=isinstance(error, protocol.ChannelClosed))
        if isinstance(error, Deadline):
            if time.monotonic() >= self.total_deadline:
                limit = self.limits.timeout
                return f"the time limit for the whole notebook ({limit:g} s) ran out"
            limit = self.limits.cell_seconds
            return f"the test ran longer than its time limit ({limit:g} s): an endless loop?"
        if isinstance(error, protocol.ChannelClosed):
            return f"the process running the notebook's code ended ({status})"
        return f"the code interfered with the grader's channel ({error})"

    def ensure_started(self) -> None:
        """Start the child and run the cells, unless it runs already.

        A cell that ends or hangs the child is skipped and the child restarted. Raises
        SandboxFailure when no child can be brought up within the time limits, SandboxError
        when the child fails before any cell ran.
        """
        while self._process is None:
            if self._start_failure is not None:
                raise SandboxFailure(self._start_failure)
            self._spawn()
            current = self._run_cells()
            if current is None:
                return
            index, reason = current
            if time.monotonic() >= self.total_deadline:
                self._start_failure = reason
                raise SandboxFailure(reason)
            if index is None:
                raise SandboxError(f"the sandbox could not start ({reason}):\n{self._log_tail()}")
            self.cell_notes[index] = reason
            self._skipped.add(index)

    def _log_tail(self) -> str:
        text = (self.workdir.parent / "sandbox.log").read_bytes()[-2000:]
        return text.decode("utf-8", "replace")

    def _run_cells(self) -> tuple[int | None, str] | None:
        """Send ``start``; None if every cell ran, else (cell that ended the child, reason)."""
        assert self._channel is not None
        limits = self.limits
        self._deadline = min(time.monotonic() + STARTUP_SECONDS, self.total_deadline)
        current = None
        started = time.perf_counter()
        try:
            self._channel.send(
                {
                    "op": "start",
                    "limits": {
                        "memory": limits.memory,
                        "output": limits.output,
                        "cpu": int(limits.timeout) + 10,
                    },
                    "forbid": self.forbid,
                    "cells": [[i, s] for i, s in enumerate(self.cells) if i not in self._skipped],
                    "cell_timeout": limits.cell_seconds,
                    "isolated": self.isolated,
                },
                self._deadline,
            )
            while True:
                message = self._channel.receive(self._deadline)
                if "progress" not in message:
                    break
                if current is None:  # the first cell starts: the sandbox is up
                    phases.add("sandbox start", time.perf_counter() - started)
                    started = time.perf_counter()
                current = _index(message["progress"], len(self.cells))
                self._deadline = min(
                    time.monotonic() + limits.cell_seconds + GRACE_SECONDS, self.total_deadline
                )
            if "err" in message:
                raise ProtocolError(f"the sandbox failed: {str(message['err'])[:2000]}")
            for index, text in _cell_errors(message, len(self.cells)):
                self.cell_notes[index] = text
            self.cell_outputs = dict(_cell_outputs(message, len(self.cells)))
            phases.add("student cells", time.perf_counter() - started)
        except (Deadline, ProtocolError) as error:
            reason = self._end(error)
            if isinstance(error, Deadline) and time.monotonic() < self.total_deadline:
                reason = f"it ran longer than {limits.cell_seconds:g} s and could not be stopped"
            return current, reason
        return None

    # -- requests ---------------------------------------------------------------------------

    @contextmanager
    def _protocol(self) -> Iterator[None]:
        """Turn a hung, dead or misbehaving child into a SandboxFailure of the current test."""
        try:
            yield
        except (Deadline, ProtocolError) as error:
            message = self._end(error)
            self.failure = self.failure or message
            raise SandboxFailure(message) from None

    def _exchange(self, message: dict[str, Wire]) -> dict[str, Any]:
        """Send a request and return the reply, answering the child's calls to grader functions
        (the callables a test passed in) meanwhile. Raises the student's exception on ``err``."""
        if self._channel is None:
            raise SandboxFailure(self.failure or "the process running the notebook's code is gone")
        with self._protocol():
            self._channel.send(message, self._deadline)
            while True:
                reply = self._channel.receive(self._deadline)
                if "op" not in reply:
                    break
                answer = self._serve(reply)
                if self._channel is None:  # a nested request lost the child
                    raise SandboxFailure(self.failure or "the grading process was lost")
                self._channel.send(answer, self._deadline)
            violations = reply.get("violations", [])
            if type(violations) is not list or not all(type(v) is str for v in violations):
                raise ProtocolError("malformed violations")
        if violations:
            self.violations += [v[: protocol.MAX_TEXT] for v in violations]
            raise Violation(violations[0][: protocol.MAX_TEXT])
        if "err" in reply:
            error = reply["err"]
            if not (
                type(error) is dict and all(type(error.get(k)) is str for k in ("type", "message"))
            ):
                with self._protocol():
                    raise ProtocolError("malformed error")
            raise protocol.rebuild_exception(
                error["type"][:200], error["message"][: protocol.MAX_TEXT]
            )
        if "ok" not in reply:
            with self._protocol():
                raise ProtocolError("a reply needs 'ok' or 'err'")
        return reply

    def _serve(self, request: dict[str, Any]) -> dict[str, Wire]:
        """Run a grader function the student's code called; its errors go back to the child."""
        try:
            if request.get("op") != "call" or request.get("ref") not in self._exports:
                raise LookupError("no such grader function")
            function = self._exports[request["ref"]]
            args, kwargs = self._decode(request.get("args")), self._decode(request.get("kwargs"))
            if type(args) is not tuple or type(kwargs) is not dict:
                raise TypeError("malformed call")
            return {"ok": self._encode(function(*args, **kwargs))}
        except SandboxFailure:
            raise
        except Exception as error:
            return {"err": {"type": type(error).__name__, "message": str(error)[:2000]}}

    def _encode(self, value: object) -> Wire:
        return protocol.encode(value, self._other)

    def _other(self, value: object) -> Wire:
        if isinstance(value, Proxy):
            ref = value._proxy_ref(self)
        elif isinstance(value, np.random.Generator):
            return self._encode(RngState(value.bit_generator.state))
        elif callable(value):
            ident = len(self._exports) + 1
            self._exports[ident] = value
            ref = Ref("parent", ident, getattr(value, "__qualname__", type(value).__name__))
        else:
            raise TypeError(
                f"the trusted re-check cannot pass a {type(value).__name__} to the student's code:"
                " pass numbers, strings, arrays, lists, tuples, dicts, functions, random"
                " generators or objects the student's code made"
            )
        return protocol.encode(ref, self._other)

    def _resolve(self, item: Ref | RngState) -> object:
        if isinstance(item, RngState):
            return protocol.to_generator(item)
        if item.side == "child":
            return Proxy(self, item)
        if item.id not in self._exports:
            raise ProtocolError("unknown grader reference")
        return self._exports[item.id]

    def _decode(self, wire: Wire) -> object:
        with self._protocol():
            return protocol.decode(wire, self._resolve)

    def _write_back(self, target: object, wire: Wire) -> str:
        """Write an argument the student's function changed into the test's own array (a test
        that allows changes in place); return what is wrong with the change, or ''."""
        new = protocol.decode(wire, self._resolve)
        if not (isinstance(target, np.ndarray) and isinstance(new, np.ndarray)):
            raise ProtocolError("in-place change reported for an argument that is no array")
        if new.shape != target.shape:
            return f"changed the shape of an input array from {target.shape} to {new.shape}"
        np.copyto(target, new, casting="same_kind")
        return ""

    # -- the operations of a test -----------------------------------------------------------

    def begin_test(self, index: int, timeout: float, *, inplace: bool) -> None:
        """Start test ``index`` (its forbidden code), bringing the child up; the test then has
        ``timeout`` seconds (within the total limit), however long the cells took to run."""
        self.failure = None
        self.violations = []
        self.inplace = inplace
        self.ensure_started()
        self._deadline = min(time.monotonic() + timeout, self.total_deadline)
        self._exchange({"op": "test", "index": index})

    def end_test(self) -> str | None:
        """Why the test fails whatever its code caught (a lost child, a tripwire), or None."""
        return self.failure or (self.violations[0] if self.violations else None)

    def get(self, names: Sequence[str]) -> dict[str, object]:
        """The student's globals among ``names`` (missing or untransferable ones are left out)."""
        found = self._decode(self._exchange({"op": "get", "names": list(names)})["ok"])
        if type(found) is not dict or not set(found) <= set(names):
            with self._protocol():
                raise ProtocolError("malformed globals")
        return found

    def call(self, proxy: Proxy, args: tuple, kwargs: dict[str, Any]) -> object:
        """Call the student's object; copy back generator states and allowed in-place changes."""
        reply = self._exchange(
            {
                "op": "call",
                "ref": proxy._proxy_ref(self).id,
                "args": self._encode(args),
                "kwargs": self._encode(kwargs),
                "inplace": self.inplace,
            }
        )
        result = self._decode(reply["ok"])
        found = [
            value for arg in (*args, *kwargs.values()) for _, value in protocol.leaves(arg, "")
        ]
        with self._protocol():
            for ordinal, path, new in _changes(reply, len(found)):
                problem = (
                    self._write_back(found[ordinal], new)
                    if self.inplace
                    else (
                        f"changed its input {path} in place: work on a copy (or build a new array)"
                        " and leave the caller's arrays untouched"
                    )
                )
                if problem:
                    message = f"your {proxy._proxy_label} {problem}"
                    self.violations.append(message)
                    raise Violation(message)
            for ordinal, state in _states(reply, len(found)):
                generator = found[ordinal]
                if not isinstance(generator, np.random.Generator):
                    raise ProtocolError("state reported for an argument that is no generator")
                new_state = protocol.decode(state, _keep)
                if not isinstance(new_state, RngState):
                    raise ProtocolError("a generator state must be tagged as one")
                try:
                    generator.bit_generator.state = new_state.state
                except (TypeError, ValueError, KeyError) as error:
                    raise ProtocolError(f"invalid generator state: {error}") from None
        return result

    def getattr(self, proxy: Proxy, name: str) -> object:
        reply = self._exchange({"op": "getattr", "ref": proxy._proxy_ref(self).id, "name": name})
        return self._decode(reply["ok"])

    def setattr(self, proxy: Proxy, name: str, value: object) -> None:
        ref = proxy._proxy_ref(self).id
        self._exchange({"op": "setattr", "ref": ref, "name": name, "value": self._encode(value)})

    def getitem(self, proxy: Proxy, key: object) -> object:
        ref = proxy._proxy_ref(self).id
        reply = self._exchange({"op": "getitem", "ref": ref, "key": self._encode(key)})
        return self._decode(reply["ok"])

    def setitem(self, proxy: Proxy, key: object, value: object) -> None:
        ref = proxy._proxy_ref(self).id
        message = {
            "op": "setitem",
            "ref": ref,
            "key": self._encode(key),
            "value": self._encode(value),
        }
        self._exchange(message)

    def builtin(self, proxy: Proxy, function: str, expected: type, item: object = None) -> Any:
        """``len``, ``bool``, ``list`` or ``contains`` applied in the child; the result must be
        of type ``expected``."""
        message = {"op": "builtin", "ref": proxy._proxy_ref(self).id, "function": function}
        if function == "contains":
            message["item"] = self._encode(item)
        value = self._decode(self._exchange(message)["ok"])
        if type(value) is not expected:
            raise TypeError(f"{function}() of a {proxy._proxy_label} gave a {type(value).__name__}")
        return value


def _index(value: object, size: int) -> int:
    if type(value) is not int or not 0 <= value < size:
        raise ProtocolError("bad cell index")
    return value


def _cell_errors(message: dict[str, Any], size: int) -> Iterator[tuple[int, str]]:
    errors = message.get("cells")
    if type(errors) is not list:
        raise ProtocolError("malformed start reply")
    for item in errors:
        if not (type(item) is list and len(item) == 2 and type(item[1]) is str):
            raise ProtocolError("malformed cell error")
        yield _index(item[0], size), item[1][:2000]


def _changes(reply: dict[str, Any], size: int) -> Iterator[tuple[int, str, Wire]]:
    for item in reply.get("mutated", []):
        if not (type(item) is list and len(item) == 3 and type(item[1]) is str):
            raise ProtocolError("malformed in-place report")
        yield _index(item[0], size), item[1][:200], item[2]


def _cell_outputs(message: dict[str, Any], size: int) -> Iterator[tuple[int, list[NotebookNode]]]:
    """The outputs of each cell in a ``start`` reply, rebuilt as nbformat outputs: any field
    that is not of the type nbformat gives it is a broken protocol."""
    for item in message.get("outputs", []):
        if not (type(item) is list and len(item) == 2 and type(item[1]) is list):
            raise ProtocolError("malformed cell outputs")
        yield _index(item[0], size), [_output(output) for output in item[1]]


def _output(output: object) -> NotebookNode:
    if type(output) is not dict:
        raise ProtocolError("malformed output")
    kind = output.get("output_type")
    if kind == "stream" and output.get("name") in ("stdout", "stderr"):
        if type(output.get("text")) is str:
            return new_output("stream", name=output["name"], text=output["text"])
    elif kind in ("display_data", "execute_result"):
        data = output.get("data")
        if type(data) is dict and all(type(k) is str and type(v) is str for k, v in data.items()):
            return new_output(kind, data=data)
    elif kind == "error":
        fields = [output.get("ename"), output.get("evalue")]
        trace = output.get("traceback")
        if all(type(f) is str for f in fields) and type(trace) is list:
            if all(type(line) is str for line in trace):
                return new_output("error", ename=fields[0], evalue=fields[1], traceback=trace)
    raise ProtocolError(f"malformed {str(kind)[:40]} output")


def _states(reply: dict[str, Any], size: int) -> Iterator[tuple[int, Wire]]:
    for item in reply.get("rngs", []):
        if not (type(item) is list and len(item) == 2):
            raise ProtocolError("malformed generator report")
        yield _index(item[0], size), item[1]


def _keep(item: Ref | RngState) -> Ref | RngState:
    return item


class Proxy:
    """An object of the student's notebook, which stays in the sandbox child.

    Calls, attribute and item access, ``len``, ``bool``, iteration and ``in`` are forwarded;
    results come back as data (arrays by value) or as proxies. Lists and dicts reached through
    an attribute or item stay in the child, so ``layer.params["W"] += 1`` writes through. Special
    methods that would let the object vouch for its own value (``__eq__``, ``__float__``,
    ``__array__``, ``__array_interface__``...) are never forwarded.
    """

    __slots__ = ("_proxy_sandbox", "_proxy_target", "_proxy_generation")

    def __init__(self, sandbox: Sandbox, ref: Ref) -> None:
        object.__setattr__(self, "_proxy_sandbox", sandbox)
        object.__setattr__(self, "_proxy_target", ref)
        object.__setattr__(self, "_proxy_generation", sandbox.generation)

    @property
    def _proxy_label(self) -> str:
        return self._proxy_target.label

    def _proxy_ref(self, sandbox: Sandbox) -> Ref:
        """The reference, if it belongs to ``sandbox``'s current child."""
        if sandbox is not self._proxy_sandbox or sandbox.generation != self._proxy_generation:
            raise SandboxFailure(
                f"{self._proxy_label} comes from a run of the notebook that has ended"
            )
        return self._proxy_target

    def __repr__(self) -> str:
        return f"<{self._proxy_label} in the student's notebook>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._proxy_sandbox.call(self, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name in Proxy.__slots__ or (
            name.startswith("__") and name not in ("__name__", "__qualname__")
        ):
            raise AttributeError(name)
        return self._proxy_sandbox.getattr(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._proxy_sandbox.setattr(self, name, value)

    def __getitem__(self, key: Any) -> Any:
        return self._proxy_sandbox.getitem(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._proxy_sandbox.setitem(self, key, value)

    def __len__(self) -> int:
        length = self._proxy_sandbox.builtin(self, "len", int)
        if not 0 <= length <= protocol.MAX_ITEMS:
            raise ValueError(f"len() of a {self._proxy_label} is {length}")
        return length

    def __bool__(self) -> bool:
        return self._proxy_sandbox.builtin(self, "bool", bool)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._proxy_sandbox.builtin(self, "list", list))

    def __contains__(self, item: Any) -> bool:
        return self._proxy_sandbox.builtin(self, "contains", bool, item)
