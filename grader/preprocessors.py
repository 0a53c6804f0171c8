"""nbconvert preprocessors that ``nbgrader_config.py`` adds to nbgrader's own pipelines, or puts
in place of one of nbgrader's.

They run inside nbgrader, so the plain ``nbgrader`` commands and ``python -m grader`` give the
same release notebooks, the same grades and the same feedback.
"""

from __future__ import annotations

import copy
import traceback
from pathlib import Path
from typing import Any

import nbformat
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbformat import NotebookNode
from nbgrader import preprocessors as nbgrader_preprocessors
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.nbgraderformat import MetadataValidator as NbgraderMetadataValidator
from nbgrader.nbgraderformat import ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import Bool, Integer, List, Set

from chainrule.checks import split_mistake
from grader.cells import CellKind, forget_grading, grade_id_of, kind_of


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


#: The validator of each nbgrader cell metadata schema, by version, made once per process.
_SCHEMA_VALIDATORS: dict[int, Validator] = {}


class _SchemaCheckedOnce(BaseMetadataValidator):
    """nbgrader's check of one cell's metadata against its JSON schema, with the schema's
    validator made once per process: nbgrader's ``jsonschema.validate(metadata, schema)``
    checks the schema itself and builds a validator for every cell."""

    def schema_validator(self) -> Validator:
        """The validator of this schema version, as ``jsonschema.validate`` makes it."""
        validator = _SCHEMA_VALIDATORS.get(self.schema_version)
        if validator is None:
            cls = validator_for(self.schema)
            cls.check_schema(self.schema)
            validator = _SCHEMA_VALIDATORS[self.schema_version] = cls(self.schema)
        return validator

    def validate_cell(self, cell: NotebookNode) -> None:
        """Raise as nbgrader's ``BaseMetadataValidator.validate_cell`` does."""
        if "nbgrader" not in cell.metadata:
            return
        if cell.metadata["nbgrader"].get("schema_version", 0) != self.schema_version:
            super().validate_cell(cell)  # nbgrader's own check: a schema too old or too new
            return
        error = best_match(self.schema_validator().iter_errors(cell.metadata["nbgrader"]))
        if error is not None:
            raise error


class MetadataValidator(NbgraderMetadataValidator, _SchemaCheckedOnce):
    """nbgrader's ``MetadataValidator`` (every check of its version of the schema, then of
    grade ids, points and cell types), whose schema check is :class:`_SchemaCheckedOnce`'s."""


class CheckCellMetadata(nbgrader_preprocessors.CheckCellMetadata):
    """Autograde step in place of nbgrader's ``CheckCellMetadata``, which it is but for its
    :class:`MetadataValidator`: the same checks, the same log and the same error on corrupt
    metadata, without building the schema's validator again for every cell (twice a
    submission, it was a tenth of a grading process's CPU)."""

    def preprocess(
        self, nb: NotebookNode, resources: dict[str, Any]
    ) -> tuple[NotebookNode, dict[str, Any]]:
        """Raise nbgrader's ValidationError when the nbgrader metadata of ``nb`` is invalid."""
        try:
            MetadataValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg)  # noqa: B904  (as nbgrader's: the cause stays its context)
        return nb, resources


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
            if grade_id_of(cell) not in known:
                forget_grading(cell)
        return nb, resources


class RestoreDeletedCells(NbGraderPreprocessor):
    """Sanitize step, before OverwriteCells: put back the released cells the student deleted.

    Every cell of the released notebook with an nbgrader ``grade_id`` (answers, tests, setup,
    locked text) that the submission lacks goes back as released, after the released cell
    before it, or first. A deleted answer comes back as its stub (that exercise scores 0);
    nbgrader's OverwriteCells then checks the rest as usual. nbgrader's own
    ``add_missing_cells`` restores test cells only, after the cell before them in the source,
    and fails with KeyError when that cell is gone too (an answer deleted with its test) or is
    not an answer or a test: the whole submission then could not be graded.
    """

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


class SafeFeedback(ClearHiddenTests):
    """Feedback step: no hidden test in the sources (nbgrader's ClearHiddenTests).

    The outputs stay: a student cell's outputs come from the sandbox, which never had the
    hidden tests (their code runs in the grading process only), and a test cell's only output
    is the grader's message when it failed (:class:`grader.execute.TrustedExecute`). That
    message loses its ``[mistake: ...]`` tag, which is for the class report
    (:func:`chainrule.checks.split_mistake`).
    """

    #: Accepts the ``NbConvertBase.display_data_priority`` that nbconvert's HTMLExporter sets,
    #: as nbgrader's GetGrades does; unused here, it silences traitlets' "not recognized".
    display_data_priority = List().tag(config=True)

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], cell_index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        """Clear the hidden tests, and the mistake tags of a test cell's message."""
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if kind_of(cell) is CellKind.TEST:
            for output in cell.outputs:
                if output.output_type == "error":
                    output.evalue = split_mistake(output.evalue)[0]
                    output.traceback = [split_mistake(line)[0] for line in output.traceback]
        return cell, resources
