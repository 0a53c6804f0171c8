"""``html``: a static reading copy of the lectures (``make html``), for reading without a kernel.

Each page is one notebook of ``lectures/`` as a student receives it, with the pictures a
finished notebook shows. nbconvert's HTMLExporter runs this pipeline on its solution notebook:

1. execute it (nbconvert's ExecutePreprocessor, i.e. nbclient, in the notebook's folder, with
   the widgets' state stored; the kernel's BLAS on one thread, as when grading);
2. remove the answers, hidden tests and mark schemes with nbgrader's own preprocessors
   (ClearSolutions, ClearHiddenTests, ClearMarkScheme, configured by ``nbgrader_config.py``):
   the cell sources become those of the release notebook (``tests/test_html.py`` checks it);
3. clear the outputs of the exercise and test cells (whatever the reference answer or a hidden
   test printed stays out); the other cells keep the outputs of the solution run;
4. show each widget (an explorer) as the pictures it held at the end of the run: without a
   kernel its sliders could not move anything.

Executing the release notebooks instead would stop every picture that uses an exercise at a
``NotImplementedError``. ``index.html`` links every page, also rendered by nbconvert.

Math is typeset in the browser by MathJax 2.7, copied next to the pages (``mathjax/``, from the
``jupyter-server-mathjax`` package, which ships it with the STIX-Web fonts only), so the pages
work offline and from any static file host.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import nbformat
from jupyter_server_mathjax.app import STATIC_ASSETS_PATH as MATHJAX
from nbconvert import HTMLExporter
from nbconvert.preprocessors import CellExecutionError, ExecutePreprocessor, Preprocessor
from nbformat.v4 import new_markdown_cell, new_notebook, new_output
from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions

from grader.cells import CellKind, kind_of
from grader.course import Course, GraderError, select
from grader.trusted.environment import ONE_BLAS_THREAD

#: Seconds allowed for one cell of a solution notebook.
CELL_TIMEOUT = 600
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: MathJax's folder next to the pages, and the configuration the pages load: nbconvert's own
#: (in the page) plus ``local/chainrule``, which selects the fonts that are shipped and turns
#: off the "fast preview" (a rough rendering of every formula typeset again at once: a third
#: of the page's typesetting work, for a picture shown a moment earlier).
MATHJAX_DIR = "mathjax"
MATHJAX_URL = f"{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe,local/chainrule"
MATHJAX_LOCAL_CONFIG = """\
MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], imageFont: null, preferredFont: null,
                                 webFont: "STIX-Web"},
                    "fast-preview": {disabled: true}});
MathJax.Ajax.loadComplete("[MathJax]/config/local/chainrule.js");
"""


class ExecuteLecture(ExecutePreprocessor):
    """nbconvert's ExecutePreprocessor whose kernels run numpy's BLAS on one thread
    (:data:`grader.trusted.environment.ONE_BLAS_THREAD`: the same pictures for half the CPU)."""

    def start_new_kernel(self, **kwargs: Any) -> None:
        """Start the kernel with this process's environment and one BLAS thread."""
        kwargs.setdefault("env", {**os.environ, **ONE_BLAS_THREAD})
        super().start_new_kernel(**kwargs)


class ClearExerciseOutputs(Preprocessor):
    """Clear the outputs of nbgrader's solution and test cells."""

    def preprocess_cell(
        self, cell: nbformat.NotebookNode, resources: dict[str, Any], cell_index: int
    ) -> tuple[nbformat.NotebookNode, dict[str, Any]]:
        """Empty ``outputs`` of a code cell that is an exercise or a test."""
        if kind_of(cell) in (CellKind.ANSWER, CellKind.TEST):
            cell.outputs = []
            cell.execution_count = None
        return cell, resources


class WidgetPictures(Preprocessor):
    """Replace each widget output by the PNG pictures in its widget tree (the values of Image
    widgets and the images shown by Output widgets), read from the stored widget state."""

    def preprocess(
        self, nb: nbformat.NotebookNode, resources: dict[str, Any]
    ) -> tuple[nbformat.NotebookNode, dict[str, Any]]:
        """Swap widget outputs for pictures; drop the widget state when no widget is left."""
        models = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
        left = False
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            outputs = []
            for output in cell.outputs:
                view = output.get("data", {}).get(WIDGET_VIEW)
                pictures = widget_pictures(models, view["model_id"]) if view else []
                if pictures:
                    outputs += [new_output("display_data", {"image/png": p}) for p in pictures]
                else:
                    outputs.append(output)
                    left = left or view is not None
            cell.outputs = outputs
        if not left:
            nb.metadata.pop("widgets", None)
        return nb, resources


def widget_pictures(models: dict[str, Any], model_id: str) -> list[str]:
    """Base64 PNGs shown by widget ``model_id`` and its children, in display order."""
    model = models.get(model_id)
    if model is None:
        return []
    state = model["state"]
    if model["model_name"] == "ImageModel" and state.get("format") == "png":
        return [b["data"] for b in model.get("buffers", []) if b["path"] == ["value"]]
    if model["model_name"] == "OutputModel":
        return [
            o["data"]["image/png"]
            for o in state.get("outputs", [])
            if "data" in o and "image/png" in o["data"]
        ]
    return [
        picture
        for child in state.get("children", [])
        for picture in widget_pictures(models, child.removeprefix("IPY_MODEL_"))
    ]


def lecture_exporter(course: Course) -> HTMLExporter:
    """The HTML exporter of the pipeline above, configured by the course."""
    config = course.config()
    config.ExecutePreprocessor.timeout = CELL_TIMEOUT
    config.HTMLExporter.mathjax_url = MATHJAX_URL
    return HTMLExporter(
        config=config,
        preprocessors=[
            ExecuteLecture,
            WidgetPictures,
            ClearSolutions,
            ClearHiddenTests,
            ClearMarkScheme,
            ClearExerciseOutputs,
        ],
    )


def title(notebook: nbformat.NotebookNode, default: str) -> str:
    """The text of the first Markdown heading of ``notebook``, else ``default``."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return default


def copy_mathjax(destination: Path) -> None:
    """Put MathJax and its local configuration into ``destination/mathjax``."""
    target = destination / MATHJAX_DIR
    shutil.copytree(MATHJAX, target, dirs_exist_ok=True)
    local = target / "config" / "local" / "chainrule.js"
    local.parent.mkdir(exist_ok=True)
    local.write_text(MATHJAX_LOCAL_CONFIG)


def build_html(
    course: Course, destination: Path, assignments: list[str] | None = None
) -> list[Path]:
    """Write one page per lecture notebook (``lectures/``) of ``assignments`` (default: every
    released assignment), ``index.html`` and MathJax into ``destination``; return the pages,
    index last. The outputs come from running the lecture's solution notebook."""
    names = select(assignments, course.assignments("release"))
    if not names:
        raise GraderError(f"no lecture to render: {course.directory('release')} has none")
    destination.mkdir(parents=True, exist_ok=True)
    copy_mathjax(destination)
    exporter = lecture_exporter(course)
    pages: list[Path] = []
    links: list[str] = []
    for name in names:
        for lecture in course.notebook_paths("release", name):
            solution = course.directory("source") / name / lecture.name
            if not solution.is_file():
                raise GraderError(f"{lecture} has no solution notebook {solution} to run")
            try:
                body, _ = exporter.from_filename(str(solution))
            except CellExecutionError as error:
                raise GraderError(f"{solution} failed to run:\n{error}") from None
            page = destination / f"{lecture.stem}.html"
            page.write_text(body, encoding="utf-8")
            pages.append(page)
            heading = title(nbformat.read(lecture, as_version=4), lecture.stem)
            links.append(f"- [{heading}]({page.name})")
    index = new_notebook(
        cells=[
            new_markdown_cell(
                "# chainrule: how neural networks are trained\n\n"
                "A reading copy of the lectures: each page is the notebook a student receives, "
                "with the figures of a finished run. To write the exercises, open the notebooks "
                "of `lectures/` in JupyterLab (`make lab`).\n\n" + "\n".join(links)
            )
        ],
        metadata={"title": "chainrule lectures"},
    )
    body, _ = HTMLExporter(mathjax_url=MATHJAX_URL).from_notebook_node(index)
    pages.append(destination / "index.html")
    pages[-1].write_text(body, encoding="utf-8")
    return pages
