"""The visible text of an HTML page written by nbconvert (feedback pages, the reading copy)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path


class _Text(HTMLParser):
    """Visible text of an HTML page (code is split into highlighting spans)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(path: Path) -> str:
    """The text a reader sees on the page at ``path``, without scripts and styles."""
    parser = _Text()
    parser.feed(path.read_text())
    return "".join(parser.parts)


def browser_problems(chromium, path: Path, action=None) -> tuple[list[str], list[str]]:
    """Open the page at ``path`` in ``chromium`` (the conftest fixture), run ``action(page)`` if
    given; return the console errors and the requests to anything but ``file:`` and ``data:``."""
    page = chromium.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: None if r.url.startswith(("file:", "data:")) else requests.append(r.url),
    )
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    if action is not None:
        action(page)
    page.close()
    return errors, requests
