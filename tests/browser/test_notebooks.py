"""The notebooks as a student meets them in JupyterLab: widgets answer the keyboard, Validate
tells the truth.

Notebook 02's learning-rate explorer is moved by the student-edition test
(``test_student_edition.py``: the same notebook, answered the same way, in the edition's own
environment), not again here. Screenshots are saved in each test's ``tmp_path``. With
``CHAINRULE_UPDATE_SCREENSHOTS=1`` the explorers' screenshots also replace the README's
pictures in ``docs/``.
"""

from __future__ import annotations

import os
import shutil

import nbformat
import pytest
from answers import exercises, first_answer

from browser.conftest import REPO, VALIDATED
from browser.jupyterlab import PNG_SIGNATURE, Lab

pytestmark = pytest.mark.slow

UPDATE_SCREENSHOTS = "CHAINRULE_UPDATE_SCREENSHOTS"
#: Key presses that move a slider's handle: each ArrowRight moves it one step.
STEPS = 10


def move_explorer_slider(lab: Lab, label: str, picture: str) -> None:
    """Move the slider ``label`` of the explorer in the open notebook by keyboard, assert its
    figure was redrawn; screenshots before and after, the latter also ``docs/picture`` with
    ``CHAINRULE_UPDATE_SCREENSHOTS=1``."""
    output = lab.output_of(lab.slider(label))
    lab.screenshot(output, "before.png")
    before, after = lab.move_slider(label, STEPS)
    assert before.startswith(PNG_SIGNATURE) and after.startswith(PNG_SIGNATURE)
    shot = lab.screenshot(output, "after.png")
    if os.environ.get(UPDATE_SCREENSHOTS) == "1":
        shutil.copy(shot, REPO / "docs" / picture)


def test_moving_the_init_explorer_slider_by_keyboard_redraws_the_figure(lab: Lab) -> None:
    path = "06_initialization/06_initialization.ipynb"
    lab.open(path)
    lab.run_all()
    move_explorer_slider(lab, "hidden layers", "init_explorer.png")


def test_validate_fails_on_the_stub_and_succeeds_once_the_exercise_is_answered(lab: Lab) -> None:
    path = f"{VALIDATED}/{VALIDATED}.ipynb"
    signature, answer = first_answer(REPO / "solutions" / path)
    lab.open(path)

    failed = lab.validate("validate_stub.png")
    assert "The following cell failed" in failed and "NotImplementedError" in failed

    lab.replace_line(signature, "raise NotImplementedError()", "\n".join(answer).lstrip())
    passed = lab.validate("validate_answered.png")
    assert "Success! Your notebook passes all the tests." in passed
    # Validate saved the notebook first: the answer typed in the editor is on disk.
    saved = exercises(nbformat.read(lab.server.root / path, as_version=4))[0].source
    assert all(line.strip() in saved for line in answer)
