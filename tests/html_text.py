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
