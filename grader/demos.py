"""Which demo cells grading leaves out: those no later cell can depend on by name.

A *demo cell* is a code cell of the instructor's notebook that is neither a setup cell (tag
``setup``), an answer nor a test: it plots, trains or prints to show an idea, and no score
depends on it. They are most of the time a notebook takes to run. In a submission, a cell is a
demo when its text is exactly that of a demo cell of the released notebook: a demo the student
changed is the student's own code and always runs.

Grading (the sandbox's plan of the cells to run, :func:`grader.trusted.notebook.plan`) skips a
demo unless a cell that runs after it
reads a global name it binds; then it runs, and so do the demos *it* needs. A student's answer
that uses the ``X_big`` of a demo above it still finds it.

Names are found statically, per cell: the global names a cell *binds* (assignments, imports,
``def``, ``class`` and ``global`` declarations, anywhere in the cell) and the global names it
*reads* before binding them itself (a read inside a function counts, whenever the function is
called). A cell that cannot be analysed (a syntax error, a magic that runs code from a string,
``eval``, ``globals()``...) reads every name, and a demo with ``import *`` binds every name, so
doubt always runs the demo. What the analysis cannot see is state shared without a name (the
global random generator, matplotlib's settings) and an object a demo changes in place through a
name another cell bound (``history.append(...)``). So the course's cells draw random numbers
from their own ``rng`` (``tests/test_notebooks.py`` forbids seeding numpy's), demos change only
what they bind, and tests never rely on a demo (``python -m grader check`` grades the solution
with the demos skipped).

Both analyses are cached by the cell's text: :mod:`grader.preload` fills the cache with the
instructor's cells once, before the grading processes fork.
"""

from __future__ import annotations

import ast
import functools
import re
import symtable
from collections.abc import Callable, Iterable, Iterator, Sequence

from nbformat import NotebookNode

from grader.cells import CellKind, kind_of, to_python

#: Most characters of code :func:`skippable` analyses (about 10 µs each): six times the longest
#: notebook of the course, so that a huge submission cannot make grading slow.
MAX_ANALYSED = 200_000
#: Stands for "any name" in a set of names (an unanalysable read, a star import).
ANY = frozenset({"*"})
#: Calls through which code reads globals by computed names.
_DYNAMIC = frozenset({"eval", "exec", "globals", "locals", "vars", "__import__"})
#: Attributes that hold the notebook's global namespace.
_NAMESPACES = frozenset({"user_ns", "user_global_ns", "__dict__"})
#: Line magics that run no code of their own argument (unless it interpolates a name).
_HARMLESS_MAGICS = frozenset({"matplotlib", "config", "load_ext", "precision"})
_MAGIC_CALL = re.compile(r"get_ipython\(\)\.run_line_magic\('(?P<magic>\w+)', '(?P<line>[^']*)'\)")
#: Statements that bind their names whenever they run to the end.
_BINDING = (
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
)


def is_demo(cell: NotebookNode) -> bool:
    """Whether a cell of the *instructor's* notebook is a demo: a non-empty code cell of kind
    :attr:`grader.cells.CellKind.DEMO` (neither answer, test, setup nor locked)."""
    return kind_of(cell) is CellKind.DEMO and bool(cell.source.strip())


def demo_texts(cells: Iterable[NotebookNode]) -> frozenset[str]:
    """The texts of the demo cells of an instructor's (source or released) notebook."""
    return frozenset(cell.source for cell in cells if is_demo(cell))


def _scopes(table: symtable.SymbolTable) -> Iterator[symtable.SymbolTable]:
    """The scopes nested in ``table`` (functions, classes, lambdas, comprehensions), deep."""
    for child in table.get_children():
        yield child
        yield from _scopes(child)


def _table(tree: ast.Module) -> symtable.SymbolTable:
    return symtable.symtable(ast.unparse(tree), "<cell>", "exec")


def _names(
    table: symtable.SymbolTable,
    top: Callable[[symtable.Symbol], bool],
    nested: Callable[[symtable.Symbol], bool],
) -> set[str]:
    """Names of the symbols of ``table``'s top level that pass ``top``, and of its nested
    scopes' symbols that pass ``nested``."""
    names = {symbol.get_name() for symbol in table.get_symbols() if top(symbol)}
    for scope in _scopes(table):
        names |= {symbol.get_name() for symbol in scope.get_symbols() if nested(symbol)}
    return names


def _bound(table: symtable.SymbolTable) -> set[str]:
    """Global names a piece of code binds: at its top level, or declared global in a scope."""
    return _names(
        table,
        lambda s: s.is_assigned() or s.is_imported() or s.is_namespace(),
        lambda s: s.is_declared_global() and s.is_assigned(),
    )


def _read(table: symtable.SymbolTable) -> set[str]:
    """Global names a piece of code reads: at its top level, or as globals of a nested scope
    (a name declared ``global`` counts: ``N += 1`` and ``del N`` read it)."""
    return _names(
        table,
        symtable.Symbol.is_referenced,
        lambda s: s.is_declared_global() or (s.is_referenced() and s.is_global()),
    )


def _python(source: str) -> ast.Module | None:
    """The cell as a syntax tree, or None when names cannot be told from it statically."""
    try:
        python = to_python(source)
        tree = ast.parse(python)
    except (SyntaxError, ValueError):
        return None
    harmless = [
        call
        for call in _MAGIC_CALL.finditer(python)
        if call["magic"] in _HARMLESS_MAGICS and not set("{$") & set(call["line"])
    ]
    if python.count("get_ipython()") > len(harmless):  # code in a magic, user_ns, a shell...
        return None
    for node in ast.walk(tree):
        if (
            (isinstance(node, ast.Name) and node.id in _DYNAMIC)
            or (isinstance(node, ast.alias) and node.name == "__main__")
            or (isinstance(node, ast.Attribute) and node.attr in _NAMESPACES)
        ):
            return None
    return tree


@functools.lru_cache(maxsize=4096)
def binds(source: str) -> frozenset[str]:
    """The global names a cell may bind (:data:`ANY` for ``import *`` or code not analysable)."""
    tree = _python(source)
    if tree is None or any(
        isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names)
        for node in ast.walk(tree)
    ):
        return ANY
    return frozenset(_bound(_table(tree)))


def _store_names(target: ast.AST) -> set[str]:
    """The bare names an assignment target binds (``x``, ``(i, x)``; not ``x[i]`` or ``x.a``)."""
    return {
        node.id
        for node in ast.walk(target)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }


def _updated(statement: ast.stmt) -> set[str]:
    """Names a statement needs bound although it does not load them: ``x += 1``, ``del x``."""
    if isinstance(statement, ast.AugAssign):
        return _store_names(statement.target)
    if isinstance(statement, ast.Delete):
        return {target.id for target in statement.targets if isinstance(target, ast.Name)}
    return set()


def _declares_only(statement: ast.stmt) -> bool:
    """Whether a statement is an annotation without a value (``x: int``), which binds nothing."""
    return isinstance(statement, ast.AnnAssign) and statement.value is None


def _expression_reads(expression: ast.expr) -> set[str]:
    return _read(_table(ast.Module(body=[ast.Expr(expression)], type_ignores=[])))


def _flow(statements: list[ast.stmt], bound: set[str]) -> tuple[set[str], set[str]]:
    """(names read before being bound, names surely bound after) for statements run in order.

    Loops, branches, ``with`` and ``try`` are followed so that a loop variable read in the
    loop's body is not a read of an earlier cell's name; other statements count as a whole.
    Only a binding at this level, or in both branches of an ``if``, is sure.
    """
    names: set[str] = set()
    bound = set(bound)  # grown in place below: the caller's set stays as it was
    for statement in statements:
        if isinstance(statement, (ast.For, ast.AsyncFor)):
            names |= _expression_reads(statement.iter) - bound
            names |= _flow(statement.body, bound | _store_names(statement.target))[0]
            names |= _flow(statement.orelse, bound)[0]
        elif isinstance(statement, (ast.While, ast.If)):
            names |= _expression_reads(statement.test) - bound
            body, after_body = _flow(statement.body, bound)
            orelse, after_orelse = _flow(statement.orelse, bound)
            names |= body | orelse
            if isinstance(statement, ast.If):
                bound = after_body & after_orelse
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            inner = set(bound)
            for item in statement.items:
                names |= _expression_reads(item.context_expr) - inner
                if item.optional_vars is not None:
                    inner |= _store_names(item.optional_vars)
            names |= _flow(statement.body, inner)[0]  # a context may swallow an exception
        elif isinstance(statement, ast.Try):
            body, after_body = _flow(statement.body, bound)
            names |= body | _flow(statement.orelse, after_body)[0]
            for handler in statement.handlers:
                caught = {handler.name} if handler.name else set()
                if handler.type is not None:
                    names |= _expression_reads(handler.type) - bound
                names |= _flow(handler.body, bound | caught)[0]
            names |= _flow(statement.finalbody, bound)[0]
        else:
            table = _table(ast.Module(body=[statement], type_ignores=[]))
            names |= (_read(table) | _updated(statement)) - bound
            if isinstance(statement, _BINDING) and not _declares_only(statement):
                bound |= _bound(table)
    return names, bound


@functools.lru_cache(maxsize=4096)
def reads(source: str) -> frozenset[str]:
    """The global names a cell may read from earlier cells (:data:`ANY` when not analysable):
    those it may read before its own statements have surely bound them."""
    tree = _python(source)
    if tree is None:
        return ANY
    return frozenset(_flow(tree.body, set())[0])


def _overlap(bound: frozenset[str], needed: set[str]) -> bool:
    return bool(needed) and (bound is ANY or not bound.isdisjoint(needed))


def skippable(cells: Sequence[tuple[str, bool]]) -> set[int]:
    """Indices of the demo cells grading may skip.

    ``cells`` are the code cells that run, in order, each as (source, is it a demo). A demo is
    needed when a cell after it that runs reads a name it binds; it then reads names in turn.
    The analysis reads at most :data:`MAX_ANALYSED` characters, from the end: every demo before
    that point runs.
    """
    needed: set[str] = set()
    skipped = set()
    budget = MAX_ANALYSED
    for index in reversed(range(len(cells))):
        source, demo = cells[index]
        budget -= len(source)
        if budget < 0 or "*" in needed:  # nothing before can be skipped
            break
        if demo and not _overlap(binds(source), needed):
            skipped.add(index)
        else:
            needed |= reads(source)
    return skipped
