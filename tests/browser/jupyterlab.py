"""Driving JupyterLab in a Playwright page the way a student does: menus, keys, toolbar."""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pytest

if TYPE_CHECKING:  # playwright is imported only when a browser test runs
    from playwright.sync_api import Locator, Page

#: Seconds for one notebook step in the browser (open, run all, validate) on a loaded 2-core
#: machine; each takes 5-20 s normally.
STEP_TIMEOUT = 120
#: Milliseconds between two checks of a ``wait_for_function`` condition (Playwright checks at
#: every animation frame by default; ``_CODE_CELLS`` serializes every cell's outputs).
POLL_MS = 100
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: The open notebook's code cells as JupyterLab's model has them (``window.jupyterapp`` exists
#: with ``--LabApp.expose_app_in_browser``): each cell's execution count, whether it is queued or
#: running, and its errors. The DOM is no use here: cells out of view are rendered lazily.
_CODE_CELLS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return [...panel.content.model.cells].filter(c => c.type === 'code').map(c => ({
    gradeId: (c.getMetadata('nbgrader') || {}).grade_id,
    count: c.executionCount,
    running: c.executionState === 'running',
    errors: c.outputs.toJSON().filter(o => o.output_type === 'error')
      .map(o => `${o.ename}: ${o.evalue}`),
  }));
}"""

#: The bytes an <img> shows (a blob: URL from an ipywidgets Image, or a data: URL), base64.
_IMAGE_BYTES = """async (img) => {
  const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}"""


#: What the open notebook's kernel prints on stdout running the code given, without a cell.
_KERNEL_STDOUT = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code, silent: false, store_history: false});
  let text = '';
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream' && msg.content.name === 'stdout') text += msg.content.text;
  };
  await future.done;
  return text;
}"""

#: Whether the page holds a started JupyterLab (``window.jupyterapp``).
_LAB_STARTED = "() => Boolean(window.jupyterapp && window.jupyterapp.started)"

#: Open a notebook in the JupyterLab the page holds (what a double-click in the file browser
#: runs), without loading the whole application again.
_OPEN_IN_LAB = """async (path) => {
  await window.jupyterapp.commands.execute('docmanager:open', {path});
}"""

#: Close every document of the main area without a prompt and shut down every kernel; false,
#: with nothing done, if a dialog is open (a test that stopped halfway).
_CLOSE_NOTEBOOKS = """async () => {
  const app = window.jupyterapp;
  if (document.querySelector('.jp-Dialog')) return false;
  for (const widget of [...app.shell.widgets('main')]) widget.dispose();
  await app.serviceManager.sessions.shutdownAll();
  return true;
}"""


@dataclass(frozen=True)
class LabServer:
    """A running JupyterLab: base ``url``, ``token`` and its ``root`` folder."""

    url: str
    token: str
    root: Path

    def notebook_url(self, path: str) -> str:
        """URL opening ``path`` (relative to ``root``) in a fresh workspace (no restored tabs)."""
        return f"{self.url}/lab/tree/{path}?reset&token={self.token}"


class Lab:
    """One browser page on ``server``; screenshots are written to ``artifacts``. Tests may share
    the page one after the other (:meth:`close_notebooks` between them): JupyterLab loads once."""

    def __init__(self, page: Page, server: LabServer, artifacts: Path) -> None:
        self.page = page
        self.server = server
        self.artifacts = artifacts
        page.set_default_timeout(1000 * STEP_TIMEOUT)

    def open(self, path: str) -> None:
        """Open the notebook at ``path`` (in the JupyterLab the page holds, else by loading it)
        and wait until every cell is shown and the kernel idle."""
        cells = len(nbformat.read(self.server.root / path, as_version=4).cells)
        if self.page.evaluate(_LAB_STARTED):
            self.page.evaluate(_OPEN_IN_LAB, path)
        else:
            self.page.goto(self.server.notebook_url(path))
        self.page.get_by_text(re.compile(r"\| Idle$")).wait_for()
        self.page.wait_for_function(
            f"document.querySelectorAll('.jp-Notebook .jp-Cell').length === {cells}",
            polling=POLL_MS,
        )

    def close_notebooks(self) -> bool:
        """Close the page's notebooks and shut down their kernels; False if that cannot be done
        (no JupyterLab, or a dialog is open): the page is then no use to another test."""
        return self.page.evaluate(_LAB_STARTED) and self.page.evaluate(_CLOSE_NOTEBOOKS)

    def run_all(self) -> None:
        """Run > Run All Cells; fail with the error shown if the run stopped before the end."""
        self.page.locator(".lm-MenuBar-item", has_text="Run").click()
        self.page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        # Finished: nothing queued or running, and every cell ran or an error stopped the run.
        self.page.wait_for_function(
            f"""() => {{
              const cells = ({_CODE_CELLS})();
              return !cells.some(c => c.running)
                && (cells.every(c => c.count !== null) || cells.some(c => c.errors.length));
            }}""",
            polling=POLL_MS,
        )
        cells = self.page.evaluate(_CODE_CELLS)
        not_run = [i for i, cell in enumerate(cells) if cell["count"] is None]
        if not_run:
            self.page.screenshot(path=self.artifacts / "run_all_stopped.png")
            errors = [error for cell in cells for error in cell["errors"]]
            pytest.fail(f"Run All Cells stopped at {errors}: code cells {not_run} did not run")

    def run_cell_and_the_next(self, cell_first_line: str) -> None:
        """Run every cell above the code cell starting with ``cell_first_line`` (Run > Run All
        Above Selected Cell), then it and the cell after it (Shift+Enter twice)."""
        self._code_cell(cell_first_line).locator(".jp-InputPrompt").click()
        self.page.locator(".lm-MenuBar-item", has_text="Run").click()
        self.page.get_by_role("menuitem", name="Run All Above Selected Cell", exact=True).click()
        self.page.keyboard.press("Shift+Enter")
        self.page.keyboard.press("Shift+Enter")

    def errors_of(self, grade_id: str) -> list[str]:
        """Wait until the code cell with nbgrader's ``grade_id`` has run; return its errors."""
        ran = f"""() => ({_CODE_CELLS})().some(
          c => c.gradeId === {grade_id!r} && c.count !== null && !c.running)"""
        self.page.wait_for_function(ran, polling=POLL_MS)
        (cell,) = [c for c in self.page.evaluate(_CODE_CELLS) if c["gradeId"] == grade_id]
        return cell["errors"]

    def kernel_stdout(self, code: str) -> str:
        """What the open notebook's kernel prints on stdout running ``code`` (no cell added)."""
        return self.page.evaluate(_KERNEL_STDOUT, code)

    def save(self) -> None:
        """File > Save (Ctrl+S); wait until the notebook is saved."""
        self.page.keyboard.press("Control+s")
        self.page.wait_for_function(
            "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", polling=POLL_MS
        )

    def slider(self, label: str) -> Locator:
        """The ipywidgets slider whose description contains ``label``."""
        return self.page.locator(".widget-slider", has_text=label)

    def output_of(self, widget: Locator) -> Locator:
        """The cell output (without its prompt) holding ``widget``."""
        return self.page.locator(".jp-OutputArea-output", has=widget)

    def image_bytes(self, image: Locator) -> bytes:
        """The bytes of the picture an ``<img>`` shows."""
        return base64.b64decode(image.evaluate(_IMAGE_BYTES))

    def settled_image(self, image: Locator, before: bytes) -> bytes:
        """Wait until ``image`` differs from ``before`` and the kernel is idle with the picture
        unchanged for a moment (several slider events may each redraw); return its bytes."""
        idle = self.page.get_by_text(re.compile(r"\| Idle$"))
        deadline = time.monotonic() + STEP_TIMEOUT
        previous = before
        while time.monotonic() < deadline:
            time.sleep(0.5)
            current = self.image_bytes(image)
            if current != before and current == previous and idle.is_visible():
                return current
            previous = current
        pytest.fail(f"the figure did not change within {STEP_TIMEOUT} s of moving the slider")

    def move_slider(self, label: str, presses: int) -> tuple[bytes, bytes]:
        """Move the handle of the slider ``label`` by ``presses`` ArrowRight keys; return the
        last picture of its cell output before and once redrawn (fail if it never is)."""
        slider = self.slider(label)
        figure = self.output_of(slider).locator("img").last
        value = slider.locator(".widget-readout").inner_text()
        before = self.image_bytes(figure)
        slider.locator(".noUi-handle").focus()
        for _ in range(presses):
            self.page.keyboard.press("ArrowRight")
        assert slider.locator(".widget-readout").inner_text() != value, f"{label} did not move"
        return before, self.settled_image(figure, before)

    def replace_line(self, cell_first_line: str, line: str, text: str) -> None:
        """In the code cell starting with ``cell_first_line``, select the line showing ``line``
        (from its indentation to its end) and put ``text`` in its place through the editor."""
        self._code_cell(cell_first_line).locator(".cm-line", has_text=line).click()
        self.page.keyboard.press("End")
        self.page.keyboard.press("Shift+Home")
        self.page.keyboard.insert_text(text)

    def _code_cell(self, first_line: str) -> Locator:
        """The code cell whose editor shows the line ``first_line``."""
        return self.page.locator(
            ".jp-CodeCell", has=self.page.locator(".cm-line", has_text=first_line)
        )

    def validate(self, screenshot: str) -> str:
        """Press nbgrader's Validate button; return the result dialog's text (then close it)."""
        self.page.locator(".jp-NotebookPanel-toolbar .validate-button").click()
        dialog = self.page.locator(".jp-Dialog-content", has_text="Validation Results")
        dialog.wait_for()
        text = dialog.inner_text()
        self.screenshot(dialog, screenshot)
        dialog.get_by_role("button", name="Ok", exact=True).click()
        dialog.wait_for(state="detached")
        return text

    def screenshot(self, element: Locator, name: str) -> Path:
        """Save a screenshot of ``element`` as ``name`` among the test's artifacts."""
        path = self.artifacts / name
        element.screenshot(path=path)
        return path
