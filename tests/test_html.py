"""``make html``: one static page per lecture and an index, math typeset by a local MathJax, the
figures of a finished run, and not one line of a reference answer or a hidden test.

The reading copy is built once per session (``reading_copy`` in conftest.py); the typesetting is
checked in Chromium, offline (skipped, with the reason, without Chromium or playwright).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pytest
from html_text import page_text
from nbformat.v4 import new_code_cell, new_notebook

from grader.check import delimited_regions
from grader.html import ExecuteLecture

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
LECTURES = sorted((REPO / "lectures").glob("*/*.ipynb"))
#: Resolves once MathJax has run everything queued before it (the page's own typesetting).
TYPESET = "() => new Promise(done => MathJax.Hub.Queue(done))"
#: TeX that MathJax left as text: $...$ or $$...$$.
RAW_TEX = re.compile(r"\$\$|\$[^$\s][^$]*\$")


def source_lines(path: Path, cell_types: tuple[str, ...] = ("code", "markdown")) -> list[str]:
    """The stripped, non-blank source lines of the cells of the notebook at ``path``."""
    cells = nbformat.read(path, as_version=4).cells
    return [
        line.strip()
        for cell in cells
        if cell.cell_type in cell_types
        for line in cell.source.splitlines()
        if line.strip()
    ]


def test_one_page_per_lecture_notebook_and_an_index_linking_them(reading_copy: Path) -> None:
    pages = {p.name for p in reading_copy.glob("*.html")}
    assert pages == {f"{p.stem}.html" for p in LECTURES} | {"index.html"}
    links = re.findall(r'href="([^"]+\.html)"', (reading_copy / "index.html").read_text())
    assert sorted(links) == sorted(pages - {"index.html"})


def test_every_page_loads_the_local_mathjax(reading_copy: Path) -> None:
    for page in reading_copy.glob("*.html"):
        scripts = re.findall(r'<script[^>]+src="([^"]*MathJax[^"]*)"', page.read_text())
        assert scripts, f"{page.name} loads no MathJax"
        for script in scripts:
            assert (reading_copy / script.split("?")[0]).is_file(), script
    assert (reading_copy / "mathjax" / "config" / "local" / "chainrule.js").is_file()


@pytest.mark.parametrize("lecture", LECTURES, ids=lambda p: p.stem)
def test_page_shows_the_lecture_with_figures_and_no_answer(
    reading_copy: Path, lecture: Path
) -> None:
    html = (reading_copy / f"{lecture.stem}.html").read_text()
    text = page_text(reading_copy / f"{lecture.stem}.html")
    missing = [line for line in source_lines(lecture, ("code",)) if line not in text]
    assert not missing, f"code of {lecture.name} missing from the page: {missing[:5]}"
    assert "data:image/png;base64," in html  # the figures of the solution run
    assert "widget-view+json" not in html  # widgets are shown as their pictures
    solution = REPO / "solutions" / lecture.relative_to(REPO / "lectures")
    lines = source_lines(solution)
    hidden = [
        line
        for begin, end in (("BEGIN SOLUTION", "END SOLUTION"), ("BEGIN HIDDEN", "END HIDDEN"))
        for region in delimited_regions(lines, begin, end)
        for line in region
        if line not in "\n".join(source_lines(lecture))
    ]
    assert hidden, f"{solution.name} should have answers or hidden tests to hide"
    leaked = [line for line in hidden if line in text]
    assert not leaked, f"answer or hidden-test lines on the page: {leaked[:5]}"
    assert not re.search(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS)", text)


def test_the_lectures_run_with_one_blas_thread(tmp_path: Path) -> None:
    threads = (
        "import numpy, threadpoolctl\n"
        "print(sorted({p['num_threads'] for p in threadpoolctl.threadpool_info()"
        " if p['user_api'] == 'blas'}))"
    )
    notebook = new_notebook(cells=[new_code_cell(threads)])
    executed, _ = ExecuteLecture(timeout=60).preprocess(
        notebook, {"metadata": {"path": str(tmp_path)}}
    )
    assert executed.cells[0].outputs[0].text.strip() == "[1]"


def test_every_formula_of_every_page_is_typeset_offline(
    chromium: Browser, reading_copy: Path, tmp_path: Path
) -> None:
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    try:
        page = context.new_page()
        for html in sorted(reading_copy.glob("*.html")):
            page.goto(html.as_uri())
            page.wait_for_function("() => window.MathJax && window.MathJax.Hub")
            page.evaluate(TYPESET)
            assert "Math Processing Error" not in page.inner_text("body"), html.name
            prose = "\n".join(page.locator(".jp-RenderedMarkdown").all_inner_texts())
            assert not RAW_TEX.findall(prose), f"TeX left as text on {html.name}"
            if html.name != "index.html":
                assert page.locator(".MathJax, .MathJax_Display").count() > 0, html.name
            page.screenshot(path=tmp_path / f"{html.stem}.png")
    finally:
        context.close()
