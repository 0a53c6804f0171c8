"""nbconvert preprocessors that ``nbgrader_config.py`` adds to nbgrader's own pipelines.

They run inside nbgrader, so the plain ``nbgrader`` commands and ``python -m grader`` give the
same release notebooks and the same feedback.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import Bool, Integer, List, Set

from grader.cells import grade_id_of
from grader.demos import demo_texts, skippable


class NormalizeMetadata(ClearMetadataPreprocessor):
    """Keep only the metadata a student notebook needs (last step of ``generate_assignment``).

    Notebook: the kernel and the language name. Code cells: nbgrader's cell metadata and the
    locks it sets, tags, and the Jupyter display flags. Everything else (widget state, execution
    timestamps, the Python version of whoever last ran the solution) is dropped.
    """

    enabled = Bool(True).tag(config=True)
    preserve_nb_metadata_mask = Set(
        {"kernelspec", ("language_info", "name")},
        help="Notebook metadata keys (or key paths) kept in the release.",
    ).tag(config=True)
    preserve_cell_metadata_mask = Set(
        {"nbgrader", "deletable", "editable", "tags", "jupyter"},
        help="Code cell metadata keys (or key paths) kept in the release.",
    ).tag(config=True)


class ForgetUnknownCells(NbGraderPreprocessor):
    """Autograde step, after DeduplicateIds: a cell of the submission whose nbgrader metadata
    names no cell of the released notebook becomes a plain cell of the student's.

    A renamed ``grade_id``, a made-up one, or the empty metadata DeduplicateIds leaves on a
    duplicate otherwise make nbgrader's OverwriteCells fail with KeyError when it restores
    missing cells (``add_missing_cells``), and the whole submission could not be graded. The
    cells nbgrader knows (restored from the gradebook when missing) are not touched.
    """

    def preprocess(
        self, nb: NotebookNode, resources: dict[str, Any]
    ) -> tuple[NotebookNode, dict[str, Any]]:
        """Drop the nbgrader metadata that names no released cell."""
        ids = resources["nbgrader"]
        with Gradebook(ids["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(ids["notebook"], ids["assignment"])
            known = {cell.name for cell in notebook.source_cells}
        for cell in nb.cells:
            if "nbgrader" in cell.metadata and cell.metadata.nbgrader.get("grade_id") not in known:
                del cell.metadata["nbgrader"]
        return nb, resources


#: nbclient leaves a code cell with this tag unrun (``NotebookClient.skip_cells_with_tag``).
SKIP_TAG = "skip-execution"


class ReleasedNotebookStep(NbGraderPreprocessor):
    """A step that reads the released notebook (``lectures/``) of the notebook it processes."""

    def released(self, resources: dict[str, Any]) -> NotebookNode | None:
        """The released notebook, or None (with a warning) when the course has none."""
        ids = resources["nbgrader"]
        coursedir = CourseDirectory(config=self.config)
        path = Path(coursedir.format_path(coursedir.release_directory, ".", ids["assignment"])) / (
            ids["notebook"] + ".ipynb"
        )
        if not path.is_file():
            self.log.warning("no released notebook at %s: %s skipped", path, type(self).__name__)
            return None
        return nbformat.read(path, as_version=4)


class RestoreDeletedCells(ReleasedNotebookStep):
    """Sanitize step, before OverwriteCells: put back the released cells the student deleted.

    Every cell of the released notebook with an nbgrader ``grade_id`` (answers, tests, setup,
    locked text) that the submission lacks goes back as released, after the released cell
    before it, or first. A deleted answer comes back as its stub (that exercise scores 0);
    nbgrader's OverwriteCells then checks the rest as usual. nbgrader's own
    ``add_missing_cells`` restores test cells only, after the cell before them in the source,
    and fails with KeyError when that cell is gone too (an answer deleted with its test) or is
    not an answer or a test: the whole submission then could not be graded.
    """

    def preprocess(
        self, nb: NotebookNode, resources: dict[str, Any]
    ) -> tuple[NotebookNode, dict[str, Any]]:
        """Insert the missing released cells in the release's order."""
        released = self.released(resources)
        if released is None:
            return nb, resources
        present = {grade_id_of(cell) for cell in nb.cells} - {None}
        position = 0
        for cell in released.cells:
            name = grade_id_of(cell)
            if name is None:
                continue
            if name in present:
                position = 1 + next(i for i, c in enumerate(nb.cells) if grade_id_of(c) == name)
            else:
                self.log.warning("cell %s was deleted: restored from the release", name)
                nb.cells.insert(position, copy.deepcopy(cell))
                position += 1
        return nb, resources


class SkipDemoCells(ReleasedNotebookStep):
    """Autograde step, before Execute: the kernel skips the demo cells no later cell needs.

    Demo cells show ideas and decide no score (:mod:`grader.demos`); they are most of a
    notebook's run time. The demos are those of the released notebook (``lectures/``), and a
    cell of the submission with the same text is one. The step first removes nbclient's
    ``skip-execution`` tag from every cell (a student's tag on a test cell would skip the test),
    then puts it on the demos :func:`grader.demos.skippable` leaves out. Where the released
    notebook is missing, every cell runs.
    """

    def preprocess(
        self, nb: NotebookNode, resources: dict[str, Any]
    ) -> tuple[NotebookNode, dict[str, Any]]:
        """Tag the demo cells to skip."""
        released = self.released(resources)
        demos = demo_texts(released.cells) if released is not None else frozenset()
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        for cell in code:
            tags = cell.metadata.get("tags", [])
            if not isinstance(tags, list):  # nbclient would test a string tag by substring
                tags = []
            cell.metadata.tags = [tag for tag in tags if tag != SKIP_TAG]
        for index in skippable([(cell.source, cell.source in demos) for cell in code]):
            code[index].metadata.tags.append(SKIP_TAG)
        return nb, resources


#: What replaces the part of a cell's output past :attr:`LimitOutputSize.max_chars`.
TRUNCATED = "\n... [output truncated by the grader: too long] ...\n"


def _text_size(value: object) -> int:
    """Characters of an output field: a string, a list of strings, or a dict of those."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(_text_size(item) for item in value)
    if isinstance(value, dict):
        return sum(_text_size(item) for item in value.values())
    return 0


class LimitOutputSize(NbGraderPreprocessor):
    """Autograde step: cut each cell's outputs to ``max_chars`` characters in all.

    nbgrader's LimitOutput counts lines, so one line of 100 MB would go into the autograded
    notebook, the feedback and the formgrader whole. Past the budget, stream text and plain
    text are cut, other data is replaced by a note, and error outputs keep their type (a failed
    cell stays failed) with their message cut. Output types are kept, so nbgrader's scores
    do not change.
    """

    max_chars = Integer(100_000, help="Characters of output kept per cell.").tag(config=True)

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], cell_index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        """Cut the outputs of a code cell to the budget."""
        if cell.cell_type != "code":
            return cell, resources
        budget = self.max_chars
        for output in cell.outputs:
            size = _text_size(output.get("text")) + _text_size(output.get("data"))
            size += _text_size(output.get("evalue")) + _text_size(output.get("traceback"))
            if size > budget:
                self._cut(output, max(budget, 0))
            budget -= size
        return cell, resources

    @staticmethod
    def _cut(output: NotebookNode, keep: int) -> None:
        if output.output_type == "stream":
            output.text = output.text[:keep] + TRUNCATED
        elif output.output_type == "error":
            output.evalue = output.evalue[:keep] + TRUNCATED
            output.traceback = [TRUNCATED.strip()]
        else:
            plain = output.data.get("text/plain", "")
            plain = "".join(plain) if isinstance(plain, list) else str(plain)
            output.data = {"text/plain": plain[:keep] + TRUNCATED}


#: Metadata key of the output, written by the grader (:mod:`grader.verdicts`), that says how a
#: test was scored.
VERDICT_KEY = "chainrule_verdict"

#: What the feedback shows instead of the outputs it leaves out.
HIDDEN_OUTPUT = "(output not shown in the feedback: your notebook has it)"


def is_test_cell(cell: NotebookNode) -> bool:
    """Whether ``cell`` is an autograder test: a code grade cell that is not an answer."""
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def is_verdict(output: NotebookNode) -> bool:
    """Whether ``output`` is the grader's verdict on a test (see :mod:`grader.verdicts`)."""
    return VERDICT_KEY in output.get("metadata", {})


class SafeFeedback(ClearHiddenTests):
    """Feedback step: no hidden test, and no output of the student's kernel.

    nbgrader's ClearHiddenTests removes the hidden test lines from the sources. But the kernel
    that ran the notebook had the hidden tests at hand: nbgrader executes them from a copy of
    the notebook in the kernel's working directory, and once a test cell has run its source is
    in ``In``, in frames, in input hooks. Any output of that kernel (``print(In[-2])``, or the
    message of an exception) can show them. So code cells keep no output but the grader's
    verdicts (:mod:`grader.verdicts`), which come from outside the kernel: the score of each
    test and why it lost points. The instructor still sees every output in ``autograded/``.
    """

    #: Accepts the ``NbConvertBase.display_data_priority`` that nbconvert's HTMLExporter sets,
    #: as nbgrader's GetGrades does; unused here, it silences traitlets' "not recognized".
    display_data_priority = List().tag(config=True)

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], cell_index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        """Clear the hidden tests, then every output but the verdicts."""
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.cell_type == "code":
            kept = [output for output in cell.outputs if is_verdict(output)]
            if len(kept) < len(cell.outputs) and not is_test_cell(cell):
                kept.append(new_output("stream", name="stdout", text=HIDDEN_OUTPUT + "\n"))
            cell.outputs = kept
        return cell, resources
