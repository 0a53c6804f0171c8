"""The report of an assignment (:mod:`grader.report`) as one self-contained HTML page (styles,
script and figures inline: it opens offline and makes no request) and a CSV of its numbers."""

from __future__ import annotations

import base64
import csv
import io
import re
from html import escape
from pathlib import Path

from grader.course import Course
from grader.export import plot_histograms
from grader.report import Exercise, Group, Report
from grader.scores import CellScore
from grader.similarity import MIN_SHARED, MIN_TOKENS, THRESHOLD

CSV_COLUMNS = ("kind", "exercise", "key", "label", "count", "of", "value", "students")

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
th.sortable { cursor: pointer; background: #f3f3f3; }
td.num { text-align: right; }
pre { background: #f7f7f7; padding: .5em; overflow-x: auto; margin: 0; font-size: 12px; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: .5em; margin-bottom: 1em; }
.note { color: #555; }
tr:target { background: #fff3c4; }
"""

_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, column) {
    th.classList.add("sortable");
    th.addEventListener("click", function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var up = th.dataset.order !== "up";
      th.dataset.order = up ? "up" : "down";
      rows.sort(function (a, b) {
        var x = a.cells[column].dataset.sort || a.cells[column].textContent;
        var y = b.cells[column].dataset.sort || b.cells[column].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        var order = isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny;
        return up ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _anchor(*parts: str) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9_-]", "_", part) for part in parts)


def _students(names: list[str]) -> str:
    links = ", ".join(f'<a href="#{_anchor("student", n)}">{escape(n)}</a>' for n in names)
    return links if len(names) <= 8 else f"<details><summary>show</summary>{links}</details>"


def _histograms(course: Course, report: Report) -> str:
    """An inline PNG of the distribution of scores on each exercise (export's drawing)."""
    scores = [
        CellScore(report.assignment, s, e.notebook, e.grade_id, score, e.points, True)
        for e in report.exercises
        for s, score in e.scores.items()
    ]
    buffer = io.BytesIO()
    plot_histograms(course, scores, buffer)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="scores per exercise" src="data:image/png;base64,{data}">'


def _group_rows(exercise: Exercise, groups: list[Group], kind: str) -> str:
    rows = []
    total = len(exercise.scores)
    for n, group in enumerate(groups):
        anchor = _anchor(kind, exercise.grade_id, str(n))
        key = f"<br><code>{escape(group.key)}</code>" if kind == "mistake" else ""
        example = (
            f"<details><summary>a message</summary><pre>{escape(group.example)}</pre></details>"
        )
        rows.append(
            f'<tr id="{anchor}"><td class="num">{len(group.students)} of {total}</td>'
            f"<td>{escape(group.label)}{key}{example}</td><td>{_students(group.students)}</td></tr>"
        )
    return "".join(rows)


def _exercise(exercise: Exercise) -> str:
    title = f"{exercise.grade_id} ({exercise.points:g} points)"
    parts = [
        f'<section id="{_anchor("exercise", exercise.grade_id)}"><h3>{escape(title)}</h3>',
        f"<p>pass rate {exercise.passed} of {len(exercise.scores)} "
        f"({100 * exercise.pass_rate:.0f} %), mean score {exercise.mean:.2f} of "
        f"{exercise.points:g}</p>",
    ]
    if exercise.mistakes or exercise.unexplained:
        parts.append("<table><thead><tr><th>students</th><th>failure</th><th>who</th></tr>")
        parts.append("</thead><tbody>")
        if exercise.mistakes:
            parts.append('<tr><th colspan="3">named mistakes</th></tr>')
            parts.append(_group_rows(exercise, exercise.mistakes, "mistake"))
        if exercise.unexplained:
            parts.append('<tr><th colspan="3">failures no known mistake explains</th></tr>')
            parts.append(_group_rows(exercise, exercise.unexplained, "failure"))
        parts.append("</tbody></table>")
    parts.append("</section>")
    return "".join(parts)


def _student_table(report: Report) -> str:
    rows = []
    for s in report.students:
        lost = ", ".join(f'<a href="#{_anchor("exercise", g)}">{escape(g)}</a>' for g in s.lost)
        rows.append(
            f'<tr id="{_anchor("student", s.student)}"><td>{escape(s.student)}</td>'
            f'<td class="num" data-sort="{s.score}">{s.score:g} / {s.max_score:g}</td>'
            f'<td data-sort="{len(s.lost)}">{lost}</td></tr>'
        )
    return (
        '<table class="sortable"><thead><tr><th>student</th><th>score</th>'
        f"<th>exercises lost</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _similarity(report: Report) -> str:
    parts = [
        f'<p class="note">Answers are compared after normalising names, comments, layout and '
        f"constants (winnowed k-grams of tokens, as MOSS). Code most of the class shares counts "
        f"for nothing. A pair is flagged when it shares at least {MIN_SHARED} fingerprints that "
        f"few others have and they make at least {THRESHOLD:.0%} of the smaller answer's. "
        f"Answers of fewer than {MIN_TOKENS} tokens get <strong>no verdict</strong>: short "
        "answers coincide by necessity. A flag is a reason to look, not a proof.</p>"
    ]
    for found in report.similarity:
        if not (found.judged or found.short):
            continue
        head = f"{found.grade_id}: {found.judged} answer(s) judged"
        if found.short:
            head += f", {len(found.short)} too short for a verdict"
        parts.append(f'<h3 id="{_anchor("similarity", found.grade_id)}">{escape(head)}</h3>')
        if not found.matches:
            parts.append('<p class="note">nothing flagged</p>')
        for match in found.matches:
            parts.append(
                f"<p>score {match.score:.2f} ({match.shared} shared fingerprints): "
                f'<a href="#{_anchor("student", match.first)}">{escape(match.first)}</a> and '
                + (
                    f"the reference module's <code>{escape(match.second)}</code>"
                    if match.reference
                    else f'<a href="#{_anchor("student", match.second)}">{escape(match.second)}</a>'
                )
                + f'</p><div class="pair"><pre>{escape(match.first_code)}</pre>'
                f"<pre>{escape(match.second_code)}</pre></div>"
            )
    return "".join(parts)


def render_html(course: Course, report: Report) -> str:
    """The page of ``report``: exercises, students, similarity."""
    title = f"{report.assignment}: class report"
    contents = "".join(
        f'<li><a href="#{_anchor("exercise", e.grade_id)}">{escape(e.grade_id)}</a></li>'
        for e in report.exercises
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="note">For instructors: who failed what, and why, '
        f"from the grading records of {len(report.students)} submission(s).</p>"
        f"<ul>{contents}</ul><h2>Exercises</h2>{_histograms(course, report)}"
        + "".join(_exercise(e) for e in report.exercises)
        + f"<h2>Students</h2>{_student_table(report)}<h2>Similarity</h2>{_similarity(report)}"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


def csv_rows(report: Report) -> list[tuple]:
    """The numbers of the page, one fact a row (:data:`CSV_COLUMNS`)."""
    rows: list[tuple] = []
    for e in report.exercises:
        n = len(e.scores)
        rows.append(("exercise", e.grade_id, "points", "", "", "", e.points, ""))
        rows.append(("exercise", e.grade_id, "pass_rate", "", e.passed, n, e.pass_rate, ""))
        rows.append(("exercise", e.grade_id, "mean_score", "", "", n, e.mean, ""))
        for kind, groups in (("mistake", e.mistakes), ("unexplained", e.unexplained)):
            for g in groups:
                rows.append(
                    (kind, e.grade_id, g.key, g.label, len(g.students), n, "", " ".join(g.students))
                )
    for s in report.students:
        rows.append(("student", "", s.student, " ".join(s.lost), "", s.max_score, s.score, ""))
    for found in report.similarity:
        for m in found.matches:
            pair = f"{m.first} {m.second}"
            rows.append(("similarity", found.grade_id, pair, "", m.shared, "", m.score, pair))
    return rows


def write_report(course: Course, report: Report, folder: Path) -> tuple[Path, Path]:
    """Write ``<assignment>.html`` and ``<assignment>.csv`` into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / f"{report.assignment}.html"
    page.write_text(render_html(course, report))
    table = folder / f"{report.assignment}.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(csv_rows(report))
    return page, table
