"""A static look at the student's code: does a graded function name forbidden code?

Defence in depth beside the sandbox's profile hook: it sees a reference to
``chainrule.gradcheck.numerical_gradient`` in a graded function even on a branch the tests never
take. Names are resolved through the imports of all cells (``import chainrule.gradcheck as gc``,
``from chainrule import gradcheck``); what cannot be resolved statically (``getattr`` with a
computed name, ``importlib``) is left to the profile hook.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence

from grader.cells import to_python
from grader.trusted.tripwire import reason


def parse(source: str) -> ast.Module | None:
    """The syntax tree of a cell, or None if it is not valid Python (after magics)."""
    try:
        return ast.parse(to_python(source))
    except (SyntaxError, ValueError):
        return None


def names_used(tree: ast.AST) -> set[str]:
    """Every bare name a piece of code mentions."""
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _imports(trees: Iterable[ast.Module]) -> dict[str, str]:
    """Local name -> dotted name it was imported as, from every import statement."""
    aliases = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        aliases[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


class StudentCode:
    """The student's cells, parsed once; ``context`` cells (setup) only contribute imports."""

    def __init__(self, student: Sequence[str], context: Sequence[str]) -> None:
        student_trees = [tree for tree in map(parse, student) if tree is not None]
        context_trees = [tree for tree in map(parse, context) if tree is not None]
        self.definitions: dict[str, list[ast.AST]] = {}
        for tree in student_trees:
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    self.definitions.setdefault(node.name, []).append(node)
        self.aliases = {
            name: dotted
            for name, dotted in _imports([*context_trees, *student_trees]).items()
            if name not in self.definitions
        }

    def _dotted(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self._dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def _references(self, node: ast.AST) -> list[str]:
        """The dotted names a node refers to: a resolved name or attribute, or imports."""
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            return [f"{node.module}.{alias.name}" for alias in node.names]
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        dotted = self._dotted(node)
        return [dotted] if dotted else []

    def findings(self, graded: Iterable[str], forbidden: Sequence[str]) -> list[str]:
        """One message per function (among ``graded`` and the student's functions they use)
        whose code names something ``forbidden`` (dotted module, function or class names)."""
        todo = [name for name in graded if name in self.definitions]
        seen, found = set(todo), []
        while todo:
            name = todo.pop()
            hit = None
            for definition in self.definitions[name]:
                for node in ast.walk(definition):
                    for dotted in self._references(node):
                        if hit is None and any(
                            dotted == bad or dotted.startswith(bad + ".") for bad in forbidden
                        ):
                            hit = dotted
                    if isinstance(node, ast.Name) and node.id in self.definitions:
                        if node.id not in seen:
                            seen.add(node.id)
                            todo.append(node.id)
            if hit:
                found.append(f"your {name} refers to {hit}, {reason(hit)}")
        return found
