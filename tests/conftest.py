"""Fixtures shared by the test modules of several folders.

``graded_course`` (session scope) is the course the whole run grades once
(tests/graded_course.py): solution and blank release of every assignment, the wrong-answer
catalogue, the hostile corpus, the end-to-end students of notebook 01 and the synthetic class
of notebook 04, graded in ONE ``python -m grader autograde --jobs 2`` run, with feedback, export,
the report of 04 and a regrade. Ask for it to read grades, records, feedback or reports of real
submissions; never change it (it is shared by every test of the run and by every pytest-xdist
worker): copy what a test grades again (tests/test_resume.py, the plain-nbgrader test of
tests/test_hostile_submissions.py). To grade something new with the rest, add its submissions
in ``graded_course.build`` under a student id of its own.

It is built once per run, never reused by another run: as soon as the tests are collected, a
process that selected a test asking for it starts the build in the background (a few minutes
on 2 cores), and the other tests run meanwhile; a test that asks for it waits for the build to
finish. With pytest-xdist every worker does the same: the first to take the lock (a file of
the run's shared temporary folder) builds, the others wait for it and read its manifest
(tests/graded_course.py, ``SharedBuild``). Without the hook (a lone test run another way), the
first test that asks builds it in its own process. ``first_run`` is the same course as soon as
its one autograde run has ended (before feedback, export, report and regrade), for the tests
that read only that run (tests/test_cluster.py).
"""

from __future__ import annotations

# First, before anything imports nbformat: grader's import keeps jsonschema from building its
# RFC 3987 parser (grader/__init__.py), 2-3 CPU-s in each pytest process.
import grader  # noqa: F401

# isort: split
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

# The grader and the graded course (each imports nbgrader: seconds of CPU) are imported where a
# hook or fixture uses them, in the process that runs tests: the pytest-xdist controller, which
# runs none, then starts its workers seconds sooner. Playwright is imported only when a browser
# test runs.
if TYPE_CHECKING:
    from graded_course import FirstRun, GradedCourse
    from playwright.sync_api import Browser

    from grader.course import Course

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
    from grader.__main__ import main

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


def shared_folder(factory: pytest.TempPathFactory) -> Path:
    """The temporary folder of this run that all its processes see: with pytest-xdist the
    parent of the workers' own (``.../pytest-N/popen-gwK``), else this process's."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


#: The background build this process started (pytest_collection_finish), if any.
_BUILDER = pytest.StashKey[subprocess.Popen | None]()


#: The fixtures of the graded course, in the order their tests run: the first autograde run
#: ends well before the whole build (feedback, export, report, regrade).
GRADED = ("first_run", "graded_course")


def graded_rank(item: pytest.Item) -> int:
    """0 for a test that needs no graded course, else 1 + the index in :data:`GRADED` of the
    last part of the build it waits for."""
    names = set(getattr(item, "fixturenames", ()))
    return max((1 + GRADED.index(name) for name in GRADED if name in names), default=0)


def file_ranks(items: list[pytest.Item]) -> dict[Path, int]:
    """Each test file of ``items``, in their order, with the highest :func:`graded_rank` of
    its tests."""
    ranks: dict[Path, int] = {}
    for item in items:
        ranks[item.path] = max(ranks.get(item.path, 0), graded_rank(item))
    return ranks


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the test files that read the graded course last (those of ``first_run`` before those
    of ``graded_course``), each file whole and in its own order, the others as collected: a
    worker (pytest-xdist hands out whole files, in this order) then runs the tests that need
    no graded course while the course is being graded, instead of waiting for it."""
    ranks = file_ranks(items)
    items.sort(key=lambda item: ranks[item.path])  # stable: the collected order otherwise


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start building the graded course in the background as soon as the tests are known,
    when one of them needs it (tests/graded_course.py: SharedBuild)."""
    if session.config.option.collectonly:
        return
    if any(graded_rank(item) for item in session.items):
        from graded_course import SharedBuild

        factory = session.config._tmp_path_factory  # pytest's own, behind tmp_path_factory
        session.config.stash[_BUILDER] = SharedBuild(shared_folder(factory)).start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Wait for the background build this process started (another worker may still need
    it), or stop it when the run was stopped."""
    builder = session.config.stash.get(_BUILDER, None)
    if builder is None or builder.poll() is not None:
        return
    if session.shouldstop or session.shouldfail or exitstatus == pytest.ExitCode.INTERRUPTED:
        from grader.process import kill_process_tree

        kill_process_tree(builder.pid)
    builder.wait()


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory: pytest.TempPathFactory) -> GradedCourse:
    """The course graded once per run (module docstring)."""
    from graded_course import SharedBuild

    try:
        return SharedBuild(shared_folder(tmp_path_factory)).result()
    except RuntimeError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    """The graded course as soon as its one autograde run has ended, before its feedback,
    export, report and regrade (tests/graded_course.py: FirstRun): for the tests that read only
    that run's grades and autograded notebooks, so they need not wait for the rest."""
    from graded_course import SharedBuild

    try:
        return SharedBuild(shared_folder(tmp_path_factory)).first_run()
    except RuntimeError as error:
        pytest.fail(str(error))


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Course:
    """An empty course: the repository's configuration and nothing else."""
    from grader.course import CONFIG_FILE, Course

    monkeypatch.delenv("CHAINRULE_DB_URL", raising=False)
    shutil.copy(REPO / CONFIG_FILE, tmp_path / CONFIG_FILE)
    return Course(tmp_path)
