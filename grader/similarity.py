"""Answers that are unusually close: winnowed k-grams of normalised tokens, as MOSS does.

An answer is the code a student wrote in one solution cell, without the lines the released cell
already had (MOSS's "base file"). Its tokens are normalised so that renaming, comments, layout
and constants change nothing: every name that is not a keyword becomes ``v``, every number and
string ``0``, comments and line breaks inside brackets vanish. Hashes of the k-grams of those
tokens are winnowed (the smallest hash of every window of :data:`WINDOW` k-grams is kept) into
the answer's *fingerprints* (Schleimer, Wilkerson and Aiken, SIGMOD 2003).

Two answers share what everybody writes: a fingerprint found in many answers of the class
(:func:`common_limit`) is no evidence, since it is what the exercise leads to (MOSS's ``-m``).
What is left of an answer is what few students wrote. Two answers are flagged when they share
at least :data:`MIN_SHARED` of those fingerprints, and the shared ones are at least
:data:`THRESHOLD` of the smaller answer's (the score): a renamed copy of code nobody else wrote
scores near 1; two independent correct answers share little but common code; two students who
made the same one-token mistake in the code everybody writes share only the two or three
fingerprints around it. An answer shorter than :data:`MIN_TOKENS` tokens gets no verdict: short
answers to a short exercise coincide by necessity. The reference module's functions are
fingerprinted the same way (:func:`reference_snippets`): an answer whose uncommon code is that
of a reference function is flagged with the closest one.
"""

from __future__ import annotations

import ast
import difflib
import io
import keyword
import re
import textwrap
import tokenize
import zlib
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

#: Tokens per k-gram.
K = 5
#: k-grams per winnowing window: a shared run of K + WINDOW - 1 tokens always shares a print.
WINDOW = 4
#: Answers (and reference functions) with fewer normalised tokens get no verdict.
MIN_TOKENS = 40
#: A pair is flagged from this score up...
THRESHOLD = 0.6
#: ...when it shares at least this many fingerprints that are not common.
MIN_SHARED = 6
#: A fingerprint is common when more than this share of the answers (and COMMON_MIN) have it.
COMMON_SHARE = 0.2
COMMON_MIN = 3

_FALLBACK_TOKEN = re.compile(r"[A-Za-z_]\w*|\d[\w.]*|\"[^\"\n]*\"|'[^'\n]*'|\S")


@dataclass(frozen=True)
class Fingerprint:
    """The normalised tokens of a piece of code, and its winnowed k-gram hashes."""

    code: str
    tokens: int
    prints: frozenset[int]

    @property
    def judged(self) -> bool:
        """Whether the code is long enough for a verdict (:data:`MIN_TOKENS`)."""
        return self.tokens >= MIN_TOKENS


@dataclass(frozen=True)
class Match:
    """A flagged pair: two students' answers, or a student's answer and a reference function."""

    first: str
    """The first student."""
    second: str
    """The second student, or ``chainrule.<module>.<function>`` for the reference module."""
    score: float
    shared: int
    """Fingerprints shared that are not common in the class."""
    first_code: str
    second_code: str

    @property
    def reference(self) -> bool:
        """Whether the second code is the reference module's."""
        return self.second.startswith("chainrule.")


def _normalised(token: tokenize.TokenInfo) -> str | None:
    """The normalised form of one token, or None to drop it."""
    kind, text = token.type, token.string
    if kind == tokenize.NAME:
        return text if keyword.iskeyword(text) or keyword.issoftkeyword(text) else "v"
    if kind in (tokenize.NUMBER, tokenize.STRING):
        return "0"
    if kind == tokenize.OP:
        return text
    if kind == tokenize.NEWLINE:
        return ";"
    if kind == tokenize.INDENT:
        return "{"
    if kind == tokenize.DEDENT:
        return "}"
    return None  # comments, NL, f-string parts, encoding, end marker


def normalised_tokens(source: str, skip: frozenset[int] = frozenset()) -> list[str]:
    """The normalised tokens of ``source``, leaving out those on the (1-based) lines ``skip``.
    Code that does not tokenize is split by a plain regular expression instead."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        lines = source.splitlines()
        kept = "\n".join(line.split("#")[0] for n, line in enumerate(lines, 1) if n not in skip)
        return [
            "0" if t[0] in "\"'0123456789" else "v" if t[0].isalpha() or t[0] == "_" else t
            for t in _FALLBACK_TOKEN.findall(kept)
        ]
    out = []
    last = source.count("\n") + 1
    for token in tokens:
        if min(token.start[0], last) in skip:  # the closing DEDENTs come after the last line
            continue
        text = _normalised(token)
        if text is not None:
            out.append(text)
    return out


def winnow(tokens: list[str]) -> frozenset[int]:
    """The winnowed hashes of the k-grams of ``tokens`` (empty for fewer than K tokens)."""
    hashes = [zlib.crc32(" ".join(tokens[i : i + K]).encode()) for i in range(len(tokens) - K + 1)]
    if len(hashes) <= WINDOW:
        return frozenset(hashes[:1] and [min(hashes)])
    return frozenset(min(hashes[i : i + WINDOW]) for i in range(len(hashes) - WINDOW + 1))


def template_lines(source: str, template: str) -> frozenset[int]:
    """The (1-based) lines of ``source`` that match lines of ``template`` in order: what the
    released cell already held, blank lines included."""
    ours = [line.strip() for line in source.splitlines()]
    theirs = [line.strip() for line in template.splitlines()]
    matcher = difflib.SequenceMatcher(None, theirs, ours, autojunk=False)
    skip = {n + 1 for n, line in enumerate(ours) if not line}
    for block in matcher.get_matching_blocks():
        skip.update(range(block.b + 1, block.b + block.size + 1))
    return frozenset(skip)


def answer_code(source: str, template: str) -> str:
    """The lines of ``source`` a student wrote: those not in the released cell ``template``."""
    skip = template_lines(source, template)
    lines = source.splitlines()
    return textwrap.dedent("\n".join(line for n, line in enumerate(lines, 1) if n not in skip))


@lru_cache(maxsize=4096)  # blank answers, and answers handed in by many, are the same text
def fingerprint(source: str, template: str = "") -> Fingerprint:
    """The fingerprint of an answer written into the released cell ``template``."""
    skip = template_lines(source, template) if template else frozenset()
    tokens = normalised_tokens(source, skip)
    code = answer_code(source, template) if template else source
    return Fingerprint(code, len(tokens), winnow(tokens))


def _functions(node: ast.AST, prefix: str = "") -> list[tuple[str, ast.FunctionDef]]:
    """(qualified name, node) of every function and method under ``node``."""
    found: list[tuple[str, ast.FunctionDef]] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.ClassDef):
            found += _functions(child, f"{prefix}{child.name}.")
        elif isinstance(child, ast.FunctionDef):
            found.append((f"{prefix}{child.name}", child))
            found += _functions(child, f"{prefix}{child.name}.")
    return found


@cache
def reference_snippets(package: Path) -> dict[str, Fingerprint]:
    """``chainrule.<module>.<qualified name>`` -> the fingerprint of that function's body
    (docstring left out), for every function and method of the package at ``package`` that is
    long enough for a verdict."""
    snippets = {}
    for path in sorted(package.glob("*.py")):
        source = path.read_text()
        lines = source.splitlines()
        for name, function in _functions(ast.parse(source)):
            body = function.body
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]
            if not body:
                continue
            code = textwrap.dedent("\n".join(lines[body[0].lineno - 1 : function.end_lineno]))
            found = fingerprint(code)
            if found.judged:
                snippets[f"chainrule.{path.stem}.{name}"] = found
    return snippets


def common_limit(answers: int) -> int:
    """The number of answers a fingerprint may be in before it counts as common."""
    return max(COMMON_MIN, int(COMMON_SHARE * answers))


def _score(shared: int, first: set[int], second: set[int]) -> float:
    """``shared`` over the size of the smaller of the fingerprint sets."""
    return shared / max(1, min(len(first), len(second)))


def similar_answers(
    answers: Mapping[str, Fingerprint], references: Mapping[str, Fingerprint]
) -> list[Match]:
    """The flagged pairs among the judged ``answers`` (student -> fingerprint of one exercise),
    and the judged answers close to a reference function; highest score first."""
    judged = {student: found for student, found in answers.items() if found.judged}
    counts = Counter(p for found in judged.values() for p in found.prints)
    limit = common_limit(len(judged))
    own = {
        student: {p for p in found.prints if counts[p] <= limit}
        for student, found in judged.items()
    }
    rare: dict[int, list[str]] = defaultdict(list)
    for student in sorted(judged):
        for p in own[student]:
            rare[p].append(student)
    shared: Counter[tuple[str, str]] = Counter()
    for students in rare.values():
        for i, first in enumerate(students):
            for second in students[i + 1 :]:
                shared[first, second] += 1
    matches = [
        Match(a, b, score, n, judged[a].code, judged[b].code)
        for (a, b), n in shared.items()
        if n >= MIN_SHARED and (score := _score(n, own[a], own[b])) >= THRESHOLD
    ]
    by_print: dict[int, list[str]] = defaultdict(list)
    for name, found in references.items():
        for p in found.prints:
            by_print[p].append(name)
    for student, found in sorted(judged.items()):
        hits = Counter(name for p in own[student] for name in by_print.get(p, ()))
        scored = [
            (
                _score(n, own[student], {p for p in references[name].prints if counts[p] <= limit}),
                n,
                name,
            )
            for name, n in hits.items()
            if n >= MIN_SHARED
        ]
        if scored and (best := max(scored))[0] >= THRESHOLD:  # the closest function only
            score, n, name = best
            matches.append(Match(student, name, score, n, found.code, references[name].code))
    return sorted(matches, key=lambda m: (-m.score, m.first, m.second))
