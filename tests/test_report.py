"""``python -m grader report`` on hand-made grading records (no grading): counts per named
mistake, unexplained failures grouped by message, the students table, the CSV, the flagged
answers, and the page in Chromium (no console error, no request)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import nbformat
import pytest
from html_text import browser_problems, page_text
from synthetic_class import ASSIGNMENT, ROOT, class_answers

from grader.__main__ import main
from grader.cells import grade_id_of
from grader.course import CONFIG_FILE, Course
from grader.report import build_report, explaining_line, message_key
from grader.submissions import GradedTest, submission_digest, write_record

NOTEBOOK = f"{ASSIGNMENT}.ipynb"
POINTS = {"test_linear_fprop": 2.0, "test_linear_bprop": 4.0}
#: student -> (failed test, message, mistake) for the students who fail something.
FAILURES = {
    "m1": (
        "test_linear_bprop",
        "Linear.grads['b'] wrong\nlikely mistake: summed the loss",
        "summed",
    ),
    "m2": ("test_linear_bprop", "Linear.grads['b'] bad\nlikely mistake: summed the loss", "summed"),
    "m3": ("test_linear_bprop", "x\nhint: reworded: summed", "summed"),
    "u1": (
        "test_linear_fprop",
        "Linear.fprop(x): 3 of 12 entries differ (rtol=1e-10)\ngot <img src=x onerror=alert(1)>",
        "",
    ),
    "u2": ("test_linear_fprop", "Linear.fprop(x): 5 of 6 entries differ (rtol=1e-10)", ""),
}


def make_course(root: Path, answers: dict[str, dict[str, str]]) -> Path:
    """A course with the release of notebook 04, each student's answers submitted and graded
    records written by hand (full points but for :data:`FAILURES`)."""
    shutil.copy(ROOT / CONFIG_FILE, root / CONFIG_FILE)
    for step in ("solutions", "lectures"):
        shutil.copytree(ROOT / step / ASSIGNMENT, root / step / ASSIGNMENT)
    release = nbformat.read(root / "lectures" / ASSIGNMENT / NOTEBOOK, as_version=4)
    for student, cells in answers.items():
        notebook = nbformat.from_dict(release)
        for cell in notebook.cells:
            cell.source = cells.get(grade_id_of(cell) or "", cell.source)
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / NOTEBOOK)
        failed, message, mistake = FAILURES.get(student, ("", "", ""))
        tests = [
            GradedTest(ASSIGNMENT, test, 0.0, points, message, mistake)
            if test == failed
            else GradedTest(ASSIGNMENT, test, points, points, "")
            for test, points in POINTS.items()
        ]
        graded = root / "autograded" / student / ASSIGNMENT
        graded.mkdir(parents=True)
        write_record(graded, submission_digest(folder), tests)
    return root


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    everyone = class_answers()
    answers = {s: everyone[s] for s in ("solution", "blank", "copy-a", "copy-b", "from-reference")}
    answers.update({student: everyone["solution"] for student in FAILURES})
    root = make_course(tmp_path_factory.mktemp("report"), answers)
    assert main(["--course", str(root), "report"]) == 0
    return root


def test_named_mistakes_are_counted_by_identifier_whatever_the_wording(course: Path) -> None:
    report = build_report(Course(course), ASSIGNMENT)
    linear, bprop = report.exercises
    assert (linear.grade_id, bprop.grade_id) == ("test_linear_fprop", "test_linear_bprop")
    ((summed),) = bprop.mistakes
    assert (summed.key, summed.students, summed.label) == (
        "summed",
        ["m1", "m2", "m3"],
        "summed the loss",
    )
    ((unexplained),) = linear.unexplained
    assert unexplained.students == ["u1", "u2"] and not linear.mistakes
    assert bprop.passed == 7 and bprop.pass_rate == pytest.approx(0.7)
    assert bprop.mean == pytest.approx(4.0 * 7 / 10)


def test_the_page_and_the_csv_say_the_same(course: Path) -> None:
    text = page_text(course / "reports" / f"{ASSIGNMENT}.html")
    assert "3 of 10summed the loss" in text.replace("\n", "")
    assert "2 of 10Linear.fprop(x): # of # entries differ" in text.replace("\n", "")
    assert "no verdict" in text
    page = (course / "reports" / f"{ASSIGNMENT}.html").read_text()
    assert "<img src=x" not in page and "got &lt;img src=x" in page  # student text is escaped
    with open(course / "reports" / f"{ASSIGNMENT}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    (mistake,) = [r for r in rows if r["kind"] == "mistake"]
    assert (mistake["key"], mistake["count"], mistake["of"]) == ("summed", "3", "10")
    assert mistake["students"] == "m1 m2 m3"
    scores = {r["key"]: float(r["value"]) for r in rows if r["kind"] == "student"}
    assert scores["m1"] == 2.0 and scores["solution"] == 6.0
    pairs = {r["key"] for r in rows if r["kind"] == "similarity"}
    assert pairs == {"copy-a copy-b", "from-reference chainrule.layers.Linear.bprop"}


def test_the_report_shows_no_hidden_test_and_stays_out_of_feedback(course: Path) -> None:
    page = (course / "reports" / f"{ASSIGNMENT}.html").read_text()
    assert "HIDDEN TESTS" not in page and "hidden_rng(" not in page
    assert main(["--course", str(course), "report", "--to", str(course / "feedback" / "x")]) == 2


def test_the_report_refuses_while_a_submission_is_not_graded(course: Path, tmp_path: Path) -> None:
    copy = tmp_path / "course"
    shutil.copytree(course, copy)
    (copy / "submitted" / "m1" / ASSIGNMENT / "extra.txt").write_text("changed after grading")
    assert main(["--course", str(copy), "report"]) == 2


def test_messages_are_explained_and_grouped() -> None:
    assert explaining_line("a\nhint: h\nlikely mistake: m") == "m"
    assert explaining_line("first\nsecond") == "first"
    assert message_key("f(A) for size ~1e3: 3 of 12, got -0.5") == "f(A) for size ~#: # of #, got #"


def test_the_page_opens_offline_without_console_error(course: Path, chromium) -> None:
    first: list[str | None] = []

    def sort_by_score(page) -> None:
        page.click("th:text('score')")
        first.append(page.locator("table.sortable tbody tr").first.get_attribute("id"))

    errors, requests = browser_problems(
        chromium, course / "reports" / f"{ASSIGNMENT}.html", sort_by_score
    )
    assert errors == [] and requests == []
    assert first[0] in ("student-m1", "student-m2", "student-m3")  # the lowest scores first
