"""The sandbox child: runs a submission's code cells, then serves the grader's requests.

Started by :mod:`grader.trusted.proxy` as ``python -m grader.trusted.sandbox READ WRITE PID``
in a temporary directory. The first request, ``start``, carries the resource limits, the code
each test forbids and the cells to run; after it come requests on the student's objects (get
globals, call, attribute and item access), each answered with a value or a reference. The
grader never trusts anything this process says beyond "here is data": it runs student code.
"""

from __future__ import annotations

import base64
import ctypes
import inspect
import io
import itertools
import json
import os
import resource
import signal
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from traitlets import Type
from traitlets.config import Config

from grader.trusted import isolation, protocol
from grader.trusted.protocol import Ref, RngState, Wire
from grader.trusted.tripwire import Forbidden, Watch

_PR_SET_PDEATHSIG = 1


class CellTimeout(BaseException):
    """Raised in a notebook cell that runs longer than the cell time limit."""


class Outputs:
    """The outputs of the notebook's cells, as nbformat output dicts, in a budget of characters.

    While a cell runs (:meth:`begin`), streams, displays, results and errors are kept for it; the
    grader writes them into the autograded notebook. Output past the budget is dropped where it
    is produced (a note says so, once per cell), so a cell that prints 100 MB costs no more time
    than one that prints 1 MB.
    """

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.cells: dict[int, list[dict[str, Any]]] = {}
        self.current: list[dict[str, Any]] | None = None
        self._cut: set[int] = set()
        self._index = -1

    def begin(self, index: int) -> None:
        self._index = index
        self.current = self.cells.setdefault(index, [])

    def end(self) -> None:
        self.current = None

    def _note_cut(self) -> None:
        """Say once in the running cell that its output was cut."""
        if self._index not in self._cut:
            self._cut.add(self._index)
            self._append_stream("stdout", TRUNCATED)

    def _append_stream(self, name: str, text: str) -> None:
        assert self.current is not None
        last = self.current[-1] if self.current else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.current.append({"output_type": "stream", "name": name, "text": text})

    def stream(self, name: str, text: str) -> None:
        """Keep what the budget allows of ``text`` written to ``name`` (stdout or stderr)."""
        kept = text[: max(self.left, 0)]
        self.left -= len(kept)
        if kept:
            self._append_stream(name, kept)
        if len(kept) < len(text):
            self._note_cut()

    def add(self, output: dict[str, Any]) -> None:
        """Keep a display, a result or an error (an error always; the others if they fit)."""
        if self.current is None:
            return
        size = len(repr(output))
        if output["output_type"] != "error" and size > self.left:
            self._note_cut()
            return
        self.left -= size
        self.current.append(output)

    def report(self) -> list[list[Any]]:
        """[[cell index, outputs]] for the ``start`` reply."""
        return [[index, outputs] for index, outputs in self.cells.items() if outputs]


#: What replaces the output a cell printed past the budget.
TRUNCATED = "\n[output truncated: too long]\n"


def _mime_bundle(data: dict[str, Any]) -> dict[str, str]:
    """A display's data as nbformat keeps it: text, and binary data (PNG) in base64."""
    bundle = {}
    for mime, value in data.items():
        if isinstance(value, bytes):
            bundle[str(mime)] = base64.b64encode(value).decode("ascii")
        elif isinstance(value, str):
            bundle[str(mime)] = value
        elif isinstance(value, (dict, list)):
            bundle[str(mime)] = json.dumps(value, default=str)
    return bundle


class _Publisher(DisplayPublisher):
    """``display()`` and inline figures: kept as ``display_data`` of the running cell."""

    outputs: Outputs | None = None

    def publish(self, data: Any, metadata: Any = None, *args: Any, **kwargs: Any) -> None:
        if self.outputs is not None and isinstance(data, dict):
            self.outputs.add(
                {
                    "output_type": "display_data",
                    "data": _mime_bundle(data),
                    "metadata": {},
                }
            )

    def clear_output(self, wait: bool = False) -> None:
        if self.outputs is not None and self.outputs.current is not None:
            self.outputs.current.clear()


class _ResultHook(DisplayHook):
    """A cell's last value: kept as its ``execute_result``."""

    outputs: Outputs | None = None

    def start_displayhook(self) -> None:
        """No prompt."""

    def write_output_prompt(self) -> None:
        """No prompt."""

    def finish_displayhook(self) -> None:
        """No newline on stdout."""

    def write_format_data(self, format_dict: dict[str, Any], md_dict: Any = None) -> None:
        if self.outputs is not None:
            self.outputs.add(
                {
                    "output_type": "execute_result",
                    "data": _mime_bundle(format_dict),
                    "metadata": {},
                    "execution_count": None,
                }
            )


class _Shell(InteractiveShell):
    """IPython without a front end: ``%matplotlib inline`` works, GUI event loops are ignored,
    and every output of a cell is kept (:class:`Outputs`)."""

    display_pub_class = Type(_Publisher)
    displayhook_class = Type(_ResultHook)
    outputs: Outputs | None = None

    def enable_gui(self, gui: str | None = None) -> None:
        """No event loop to integrate with; figures render with the Agg backend."""

    def keep_outputs(self, outputs: Outputs) -> None:
        self.outputs = self.display_pub.outputs = self.displayhook.outputs = outputs

    def _showtraceback(self, etype: type, evalue: BaseException, stb: list[str]) -> None:
        if self.outputs is not None:
            self.outputs.add(
                {
                    "output_type": "error",
                    "ename": getattr(etype, "__name__", "Error")[:200],
                    "evalue": _describe(evalue)["message"],
                    "traceback": [line[: protocol.MAX_TEXT] for line in stb[-50:]],
                }
            )


class _CappedStream(io.TextIOBase):
    """``sys.stdout`` or ``sys.stderr`` of the child: the running cell's output (:class:`Outputs`),
    otherwise (while tests call the student's functions) the log, until ``limit`` bytes."""

    def __init__(self, fd: int, limit: int, outputs: Outputs, name: str) -> None:
        self._fd = fd
        self._left = limit
        self._outputs = outputs
        self._name = name

    @property
    def encoding(self) -> str:
        return "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        if self._outputs.current is not None:
            self._outputs.stream(self._name, text)
        elif self._left > 0:
            data = text[: self._left].encode("utf-8", "replace")[: self._left]
            self._left -= len(data)
            if self._left <= 0:
                data += b"\n[output truncated]\n"
            try:
                os.write(self._fd, data)
            except OSError:  # the file size limit
                self._left = 0
        return len(text)


def _set_limits(limits: dict[str, Any]) -> None:
    """Hard resource limits: the student's code cannot raise them again."""
    for name, value in (
        ("RLIMIT_AS", limits["memory"]),
        ("RLIMIT_CPU", limits["cpu"]),
        ("RLIMIT_FSIZE", limits["output"]),
        ("RLIMIT_NPROC", 0),
        ("RLIMIT_CORE", 0),
    ):
        resource.setrlimit(getattr(resource, name), (int(value), int(value)))


def _raise_cell_timeout(signum: int, frame: object) -> None:
    raise CellTimeout("the cell ran longer than the time limit")


def _describe(error: BaseException) -> dict[str, str]:
    try:
        message = str(error)
    except BaseException:  # a student's exception whose __str__ fails
        message = "<unprintable message>"
    return {"type": type(error).__name__, "message": message[: protocol.MAX_TEXT]}


def _label(obj: object) -> str:
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        return str(obj.__qualname__)
    return type(obj).__name__


def _names(target: object, args: tuple, kwargs: dict) -> list[str]:
    """A name for each argument, in order: the student's parameter name where known."""
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        parameters = []
    positional = [
        p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return [
        positional[i] if i < len(positional) else f"argument {i + 1}" for i in range(len(args))
    ] + list(kwargs)


class ParentFunction:
    """A callable of the grader (e.g. the ``f`` a test passes in); calling it asks the grader."""

    __slots__ = ("_server", "_ref")

    def __init__(self, server: Server, ref: Ref) -> None:
        self._server = server
        self._ref = ref

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._server.call_parent(self._ref, args, kwargs)

    def __repr__(self) -> str:
        return f"<grader function {self._ref.label}>"


class Server:
    """The request loop of the sandbox child."""

    def __init__(self, channel: protocol.Channel) -> None:
        self.channel = channel
        self.objects: dict[int, object] = {}
        self._ids = itertools.count(1)
        self.shell: InteractiveShell | None = None
        self.watch: Watch | None = None
        self._ops: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "start": self.start,
            "test": self.begin_test,
            "get": self.get,
            "call": self.call,
            "getattr": self.getattr,
            "setattr": self.setattr,
            "getitem": self.getitem,
            "setitem": self.setitem,
            "builtin": self.builtin,
        }

    def serve(self) -> None:
        """Answer requests until the grader closes the channel."""
        while True:
            try:
                request = self.channel.receive()
            except protocol.ChannelClosed:
                return
            self.send(self.answer(request))

    def send(self, reply: dict[str, Any]) -> None:
        """Send a reply, or an error saying the reply was too large to send."""
        try:
            self.channel.send(reply)
        except protocol.ChannelClosed:
            raise
        except protocol.ProtocolError as error:
            self.channel.send({"err": {"type": "ValueError", "message": str(error)}})

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """The reply to one request; every exception becomes an ``err`` reply."""
        handler = self._ops.get(request.get("op"))
        try:
            if handler is None:
                raise protocol.ProtocolError(f"unknown request {request.get('op')!r}")
            reply = handler(request)
        except BaseException as error:  # the student's code may raise SystemExit too
            reply = {"err": _describe(error)}
        if self.watch is not None:
            reply["violations"] = self.watch.take_violations()
        return reply

    # -- values ---------------------------------------------------------------------------

    def export(self, obj: object) -> Wire:
        """Keep ``obj`` here and encode a reference to it."""
        ident = next(self._ids)
        self.objects[ident] = obj
        return protocol.encode(Ref("child", ident, _label(obj)), self.export)

    def encode_value(self, value: object) -> Wire:
        return protocol.encode(value, self.export)

    def encode_state(self, value: object) -> Wire:
        """Lists and dicts reached through an object stay here, so that updates write through."""
        return self.export(value) if type(value) in (list, dict) else self.encode_value(value)

    def resolve(self, item: Ref | RngState) -> object:
        if isinstance(item, RngState):
            return protocol.to_generator(item)
        if item.side == "parent":
            return ParentFunction(self, item)
        return self.objects[item.id]

    def decode(self, wire: Wire) -> object:
        return protocol.decode(wire, self.resolve)

    def target(self, request: dict[str, Any]) -> object:
        return self.objects[request["ref"]]

    # -- requests -------------------------------------------------------------------------

    def start(self, request: dict[str, Any]) -> dict[str, Any]:
        """Set the limits and tripwires, then run the cells, reporting progress before each."""
        limits = request["limits"]
        outputs = Outputs(int(limits["output"]))
        sys.stdout = _CappedStream(1, int(limits["output"]), outputs, "stdout")
        sys.stderr = _CappedStream(1, int(limits["output"]), outputs, "stderr")
        config = Config()
        config.HistoryManager.enabled = False
        self.shell = _Shell.instance(config=config)
        self.shell.keep_outputs(outputs)
        self.watch = Watch([Forbidden(names) for names in request["forbid"]])
        _set_limits(limits)
        if request.get("isolated"):
            isolation.drop_privileges()
        errors = []
        for index, source in request["cells"]:
            self.channel.send({"progress": index})
            outputs.begin(index)
            error = self.run_cell(source, float(request["cell_timeout"]))
            outputs.end()
            if error:
                errors.append([index, error])
        return {"cells": errors, "outputs": outputs.report()}

    def run_cell(self, source: str, timeout: float) -> str:
        """Run one cell under the soft time limit; return its error as text ('' if none)."""
        assert self.shell is not None
        try:
            signal.signal(signal.SIGALRM, _raise_cell_timeout)  # a cell may have replaced it
            signal.setitimer(signal.ITIMER_REAL, timeout)
            result = self.shell.run_cell(source, store_history=False)
            signal.setitimer(signal.ITIMER_REAL, 0)
            error = result.error_before_exec or result.error_in_exec
        except BaseException as caught:  # a timeout between statements, a broken shell
            signal.setitimer(signal.ITIMER_REAL, 0)
            error = caught
            described = _describe(caught)
            self.shell._showtraceback(
                type(caught), caught, [f"{described['type']}: {described['message']}"]
            )
        if error is None:
            return ""
        described = _describe(error)
        return f"{described['type']}: {described['message']}"[:2000]

    def begin_test(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.watch is not None
        self.watch.begin_test(int(request["index"]))
        return {"ok": None}

    def get(self, request: dict[str, Any]) -> dict[str, Any]:
        """The student's globals among ``names``, by value when they are data."""
        assert self.shell is not None
        found = {}
        budget = protocol.MAX_FRAME // 2
        for name in request["names"]:
            if name in self.shell.user_ns:
                wire = self.encode_value(self.shell.user_ns[name])
                size = len(repr(wire))
                if size <= budget:
                    found[name] = wire
                    budget -= size
        return {"ok": {"t": "dict", "v": [[name, wire] for name, wire in found.items()]}}

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        """Call a student's object; report arguments it changed in place and generator states."""
        assert self.watch is not None
        target = self.target(request)
        args = self.decode(request["args"])
        kwargs = self.decode(request["kwargs"])
        arguments = [*args, *kwargs.values()]
        found = [
            (position, path, value, value.tobytes() if isinstance(value, np.ndarray) else None)
            for position, argument in enumerate(arguments)
            for path, value in protocol.leaves(argument, "")
        ]
        shapes = [np.shape(value) for _, _, value, _ in found]
        with self.watch.graded(_label(target)):
            result = target(*args, **kwargs)
        mutated, states = [], []
        for ordinal, (position, path, value, data) in enumerate(found):
            if isinstance(value, np.random.Generator):
                states.append([ordinal, self.encode_value(RngState(value.bit_generator.state))])
            elif value.shape != shapes[ordinal] or value.tobytes() != data:
                name = _names(target, args, kwargs)[position]
                new = self.encode_value(value) if request["inplace"] else None
                mutated.append([ordinal, name + path, new])
        return {"ok": self.encode_value(result), "mutated": mutated, "rngs": states}

    def getattr(self, request: dict[str, Any]) -> dict[str, Any]:
        target = self.target(request)
        with self.watch.graded(_label(target)):
            value = getattr(target, request["name"])
        return {"ok": self.encode_state(value)}

    def setattr(self, request: dict[str, Any]) -> dict[str, Any]:
        target = self.target(request)
        value = self.decode(request["value"])
        with self.watch.graded(_label(target)):
            setattr(target, request["name"], value)
        return {"ok": None}

    def getitem(self, request: dict[str, Any]) -> dict[str, Any]:
        target, key = self.target(request), self.decode(request["key"])
        with self.watch.graded(_label(target)):
            value = target[key]
        return {"ok": self.encode_state(value)}

    def setitem(self, request: dict[str, Any]) -> dict[str, Any]:
        target, key = self.target(request), self.decode(request["key"])
        value = self.decode(request["value"])
        with self.watch.graded(_label(target)):
            target[key] = value
        return {"ok": None}

    def builtin(self, request: dict[str, Any]) -> dict[str, Any]:
        """``len``, ``bool``, ``list`` (iteration) or ``contains`` on a student's object."""
        target, function = self.target(request), request["function"]
        with self.watch.graded(_label(target)):
            if function == "contains":
                value: object = self.decode(request["item"]) in target
            elif function == "list":
                value = list(itertools.islice(target, protocol.MAX_ITEMS + 1))
                if len(value) > protocol.MAX_ITEMS:
                    raise ValueError(f"iterating gives more than {protocol.MAX_ITEMS} items")
            else:
                value = {"len": len, "bool": bool}[function](target)
        return {"ok": self.encode_value(value)}

    def call_parent(self, ref: Ref, args: tuple, kwargs: dict) -> Any:
        """Call a grader function: send the request, serve nested requests until its reply."""
        self.channel.send(
            {
                "op": "call",
                "ref": ref.id,
                "args": self.encode_value(args),
                "kwargs": self.encode_value(kwargs),
            }
        )
        while True:
            message = self.channel.receive()
            if "op" in message:
                self.send(self.answer(message))
                continue
            if "err" in message:
                error = message["err"]
                raise protocol.rebuild_exception(error["type"], error["message"])
            return self.decode(message["ok"])


def _die_with(parent: int) -> None:
    """Have Linux kill this process when the grader dies, so that no sandbox outlives it."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent and os.getppid() != parent:  # the grader died before prctl (0: in bubblewrap,
        # whose own --die-with-parent and PID namespace do this)
        os._exit(1)


def main(argv: list[str]) -> None:
    """Serve the grader: arguments are the two pipe descriptors and the grader's pid."""
    read_fd, write_fd, parent = (int(arg) for arg in argv)
    _die_with(parent)
    os.set_inheritable(read_fd, False)
    os.set_inheritable(write_fd, False)
    Server(protocol.Channel(read_fd, write_fd)).serve()


if __name__ == "__main__":
    main(sys.argv[1:])
