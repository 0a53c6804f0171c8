"""Fixtures shared by the test modules of several folders."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from lab_server import free_port

from grader.__main__ import main
from grader.course import CONFIG_FILE, Course

if TYPE_CHECKING:  # playwright is imported only when a browser test runs
    from playwright.sync_api import Browser

REPO = Path(__file__).resolve().parents[1]
#: Debian's PostgreSQL server binaries, newest version last.
POSTGRES_BINS = sorted(
    Path("/usr/lib/postgresql").glob("*/bin"),
    key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
)
#: The account PostgreSQL runs as when the tests run as root (the server refuses root).
POSTGRES_USER = "postgres"
#: Debian's Chromium: the browser tests never use a browser that Playwright downloads.
CHROMIUM = Path("/usr/bin/chromium")
#: Headless Chromium in a container with no outside network: no sandbox (root), no GPU, and no
#: background connections (without these, Chromium's own requests are refused and it stalls).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Headless Debian Chromium through Playwright (skips, with the reason, when either is
    missing: ``.ci/run`` installs Debian's ``chromium``, requirements.txt playwright)."""
    if not CHROMIUM.is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright Python package is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def reading_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder ``python -m grader html`` (``make html``) writes for the repository's course."""
    destination = tmp_path_factory.mktemp("html")
    assert main(["--course", str(REPO), "html", "--to", str(destination)]) == 0
    return destination


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL server on a free loopback port, in a temporary data directory;
    its SQLAlchemy URL. Skipped, with the reason, when the server or the driver is missing."""
    pytest.importorskip("psycopg2", reason="psycopg2 (PostgreSQL driver) is not installed")
    if not POSTGRES_BINS or not (POSTGRES_BINS[-1] / "postgres").is_file():
        pytest.skip(
            "no PostgreSQL server in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
        )
    bin_dir = POSTGRES_BINS[-1]
    as_user: dict = {}
    data = Path(tempfile.mkdtemp(prefix="chainrule-postgres-"))  # pytest's tmp is root-only
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(POSTGRES_USER)
        except KeyError:
            shutil.rmtree(data)
            pytest.skip(f"running as root, and no {POSTGRES_USER!r} user to run PostgreSQL as")
        as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        os.chown(data, account.pw_uid, account.pw_gid)
    port = free_port()
    server = None
    try:
        subprocess.run(
            [bin_dir / "initdb", "-D", data / "db", "-U", "grader", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
            cwd=data,
            **as_user,
        )
        server = subprocess.Popen(
            [bin_dir / "postgres", "-D", data / "db", "-h", "127.0.0.1", "-p", str(port)]
            + ["-k", str(data), "-c", "fsync=off"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd=data,
            **as_user,
        )
        deadline = time.monotonic() + 60
        while subprocess.run(
            [bin_dir / "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)], check=False
        ).returncode:
            assert server.poll() is None, "PostgreSQL exited while starting"
            assert time.monotonic() < deadline, "PostgreSQL did not accept connections in 60 s"
            time.sleep(0.2)
        yield f"postgresql://grader@127.0.0.1:{port}/postgres"
    finally:
        if server is not None:
            server.terminate()  # smart shutdown; the tests have closed their connections
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Course:
    """An empty course: the repository's configuration and nothing else."""
    monkeypatch.delenv("CHAINRULE_DB_URL", raising=False)
    shutil.copy(REPO / CONFIG_FILE, tmp_path / CONFIG_FILE)
    return Course(tmp_path)
