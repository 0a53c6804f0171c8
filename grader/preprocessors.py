"""nbconvert preprocessors that ``nbgrader_config.py`` adds to nbgrader's own pipelines.

They run inside nbgrader, so the plain ``nbgrader`` commands and ``python -m grader`` give the
same release notebooks and the same feedback.
"""

from __future__ import annotations

from typing import Any

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests
from traitlets import Bool, List, Set


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


class HideHiddenTests(ClearHiddenTests):
    """Feedback step: remove the hidden tests and cut failed tests' tracebacks to their message.

    nbgrader's ClearHiddenTests removes the hidden test lines from the sources. The traceback of
    a failed test would still quote the source lines around the failing ``assert``, so the
    error output of an autograder test cell keeps only its last entry, ``Error: message`` (the
    message the hidden test wrote for the student).
    """

    #: Accepts the ``NbConvertBase.display_data_priority`` that nbconvert's HTMLExporter sets,
    #: as nbgrader's GetGrades does; unused here, it silences traitlets' "not recognized".
    display_data_priority = List().tag(config=True)

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], cell_index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        """Clear the hidden tests, then shorten the errors of autograder test cells."""
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = output.traceback[-1:]
        return cell, resources
