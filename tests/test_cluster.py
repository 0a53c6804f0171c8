"""Grading on a Dask cluster (``autograde --scheduler``) grades as ``--jobs 2`` does.

The parts: the task and result packets (strict JSON, refused with a reason), the seeds a task
carries instead of the secret, the course version a worker must share, the results the
coordinator refuses to save, and the local path, which never imports Dask.

End to end (slow): a real ``dask scheduler`` on 127.0.0.1 and two one-thread workers, one
``python -m grader worker`` and one ``dask worker --no-nanny --preload grader.cluster``, each
in a copy of the course without gradebook or submissions (one scheduler and its two workers
for the module, a worker a test killed started again before the next test), grade a class of
12 (:data:`CLASS`) to the same scores, autograded notebooks and records as the test session's
one local ``--jobs 2`` run (tests/graded_course.py) gave them; a run in which one worker is
SIGKILLed mid-submission still grades every submission exactly once; and a worker whose
course differs refuses every task, so nothing is scored.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
import psutil
import pytest
from graded_course import GRADEBOOK, RELEASED_GRADEBOOK, SLOW_STUDENT, FirstRun
from graded_course import LIMITS as GRADED_LIMITS
from nbformat.v4 import new_notebook
from sqlalchemy import create_engine, text
from submissions.corpus import BEYOND_THE_GRADING_FUNCTION, EVERY_PATH

from grader import loopback
from grader.__main__ import main
from grader.check import BLANK, SOLUTION
from grader.course import CONFIG_FILE, Course
from grader.inputs import differences, grading_inputs
from grader.limits import Limits
from grader.packets import CellComment, CellGrade, GradingResult, GradingTask, PacketError
from grader.release import release
from grader.results import ResultError, check_result
from grader.scores import cell_scores
from grader.secret import SECRET_FILE, GivenSeeds, HiddenSeeds, submission_seeds
from grader.submissions import RECORD_NAME, GradedTest, Submission

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "03_softmax"
#: The class graded on the cluster: (student, assignment) of the session's graded course, the
#: solution, the blank release and the corpus's cases that reach beyond the grading function
#: (tests/submissions/corpus.py). A worker grades with the very function ``--jobs`` runs
#: (grader/worker.py, in a process of grader/process.py) from the same task bytes
#: (grader/tasks.py), and the coordinator saves its result with the same code
#: (grader/results.py): what differs is the transport of tasks and results, and the machine
#: around the grading process (the worker's own copy of the course, without gradebook or
#: submissions, the Dask worker as its parent, the scheduler listening on 127.0.0.1).
CLASS = (
    *(
        (case.name, case.assignment)
        for case in EVERY_PATH
        if case.name in BEYOND_THE_GRADING_FUNCTION
    ),
    (SOLUTION, ASSIGNMENT),
    (BLANK, ASSIGNMENT),
)
#: The submissions of the run in which a worker is killed (and the slow one it is killed in:
#: it sleeps, tests/graded_course.py, so the worker is killed mid-submission without a loop
#: burning a core, there and again where Dask reruns it).
KILL_RUN = ("solution", "blank", "reference-answer", "sys-exit", "deleted-cells", "not-json")
SLOW = SLOW_STUDENT


# -- the parts -------------------------------------------------------------------------------


def a_task() -> GradingTask:
    return GradingTask(
        submission=Submission("ann", "a"),
        files={"a.ipynb": b"{}", "data/x.csv": b"1,2\n"},
        gradebook=b"SQLite format 3\x00",
        seeds={"a": {"test_a": "0" * 64}},
        limits=Limits(timeout=30, cell_timeout=5, memory=2**30, isolation=False),
        inputs={"solutions/a/a.ipynb": "ab" * 32},
    )


def test_packets_travel_as_json_and_come_back_equal() -> None:
    task = a_task()
    assert GradingTask.from_bytes(task.to_bytes()) == task
    json.loads(task.to_bytes())  # plain JSON, no pickle
    result = GradingResult(
        grades=(CellGrade("a", "test_a", 1.0, False), CellGrade("a", "essay", None, True)),
        comments=(CellComment("a", "answer", "No response."),),
        tests=(GradedTest("a", "test_a", 1.0, 1.0, ""),),
        files={"a.ipynb": b"\x00\xff"},
        phases={"tests": 1.5},
        seconds=2.0,
    )
    assert GradingResult.from_bytes(result.to_bytes()) == result


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p.update(format="chainrule-grading-task/0"), "a different version"),
        (lambda p: p.update(extra=1), "task must be an object with the keys"),
        (lambda p: p["files"].update({"../../etc/cron.d/x": ""}), "not a relative path inside"),
        (lambda p: p["files"].update({"/etc/passwd": ""}), "not a relative path inside"),
        (lambda p: p["files"].update({"a.ipynb": "***"}), "must be base64"),
        (lambda p: p["submission"].update(student="../bob"), "must be a folder name"),
        (lambda p: p["limits"].update(memory="4G"), "task.limits.memory must be int"),
        (lambda p: p["limits"].update(memory=1), "memory must be at least 256 MiB"),
        (lambda p: p["seeds"]["a"].update(test_a=1), "task.seeds['a'] must be an object of str"),
    ],
)
def test_a_packet_that_is_not_exactly_its_format_is_refused(edit, message: str) -> None:
    packet = json.loads(a_task().to_bytes())
    edit(packet)
    with pytest.raises(PacketError, match=re.escape(message)):
        GradingTask.from_bytes(json.dumps(packet).encode())
    with pytest.raises(PacketError, match="must be JSON"):
        GradingTask.from_bytes(b"\x80\x04K\x01.")  # a pickle


def test_a_result_packet_with_a_score_of_the_wrong_type_is_refused() -> None:
    packet = json.loads(GradingResult(grades=(CellGrade("a", "t", 1.0, False),)).to_bytes())
    packet["grades"][0]["auto_score"] = "1.0"
    with pytest.raises(PacketError, match="result.grades.auto_score must be int or float or null"):
        GradingResult.from_bytes(json.dumps(packet).encode())


def test_a_task_carries_the_seeds_of_the_secret_never_the_secret() -> None:
    tests = {"03_softmax": ["test_softmax", "test_log_softmax"]}
    seeds = submission_seeds("the secret", "ann", ASSIGNMENT, tests)
    given = GivenSeeds(seeds["03_softmax"])
    for grade_id in tests["03_softmax"]:
        expected = HiddenSeeds("the secret", "ann", ASSIGNMENT, "03_softmax").for_test(grade_id)
        assert given.for_test(grade_id) == expected
    assert "the secret" not in json.dumps(seeds)
    with pytest.raises(KeyError, match="test_other"):
        given.for_test("test_other")


def test_the_grading_inputs_name_the_files_that_differ(course: Course) -> None:
    for folder in ("solutions", "lectures"):
        (course.root / folder / "a").mkdir(parents=True)
        (course.root / folder / "a" / "a.ipynb").write_text("{}")
    (course.root / "solutions" / "a" / ".ipynb_checkpoints").mkdir()
    (course.root / "solutions" / "a" / ".ipynb_checkpoints" / "a.ipynb").write_text("[]")
    ours = grading_inputs(course)
    assert {"nbgrader_config.py", "solutions/a/a.ipynb", "lectures/a/a.ipynb"} <= set(ours)
    assert "grader/worker.py" in ours and "chainrule/layers.py" in ours
    assert not any("checkpoints" in path or "__pycache__" in path for path in ours)
    assert differences(ours, dict(ours)) == ""
    theirs = {**ours, "solutions/a/a.ipynb": "0" * 64, "solutions/a/b.ipynb": "1" * 64}
    del theirs["grader/worker.py"]
    assert differences(ours, theirs) == (
        "differ: solutions/a/a.ipynb; missing here: grader/worker.py; "
        "only here: solutions/a/b.ipynb"
    )


def test_a_result_that_does_not_fit_the_gradebook_is_not_saved(course: Course) -> None:
    test_cell = {"grade_id": "test_a", "grade": True, "solution": False, "locked": True}
    test_cell["schema_version"] = 3
    notebook = new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "assert True", metadata={"nbgrader": {**test_cell, "points": 2}}
            )
        ]
    )
    path = course.directory("source") / "a" / "a.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(notebook, path)
    release(course, ["a"])
    ann = Submission("ann", "a")
    good = GradingResult(
        grades=(CellGrade("a", "test_a", 2.0, False),),
        tests=(GradedTest("a", "test_a", 2.0, 2.0, ""),),
    )
    bad = {
        "a/test_b, which is not a graded cell of a": replace(
            good, grades=(CellGrade("a", "test_b", 1.0, False),)
        ),
        "scores a/test_a 3.0 of 2.0": replace(good, grades=(CellGrade("a", "test_a", 3.0, False),)),
        "comments on a/test_a, which are not answer or task cells of a": replace(
            good, comments=(CellComment("a", "test_a", "No response."),)
        ),
        "recorded score of a/test_a is not its grade": replace(
            good, tests=(GradedTest("a", "test_a", 0.0, 2.0, "wrong"),)
        ),
    }
    with course.gradebook() as gradebook:
        check_result(gradebook, ann, good)
        for message, result in bad.items():
            with pytest.raises(ResultError, match=re.escape(message)):
                check_result(gradebook, ann, result)


def test_a_worker_of_no_course_grades_nothing() -> None:
    from grader.cluster import grade_on_worker

    result = GradingResult.from_bytes(grade_on_worker(a_task().to_bytes()))
    assert result.failure is None and "grades for no course" in result.error


def test_the_local_path_never_imports_dask(course: Course) -> None:
    """Without --scheduler, autograde imports neither dask nor distributed (their import
    costs seconds); this test fails if a module of the local path imports them."""
    script = (
        "import sys\n"
        "from grader.__main__ import main\n"
        "import grader.autograde, grader.process, grader.results, grader.tasks, grader.worker\n"
        f"assert main(['--course', {str(course.root)!r}, 'autograde', '--no-isolation']) == 2\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
        "print(loaded)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DASK_SCHEDULER_ADDRESS"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert "no submission to grade" in done.stderr
    assert done.stdout.strip() == "[]"


# -- end to end ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def environment() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("CHAINRULE_DB_URL", "CHAINRULE_GRADING_SECRET", "DASK_SCHEDULER_ADDRESS"):
            patch.delenv(name, raising=False)
        yield


@pytest.fixture(scope="module")
def template(
    tmp_path_factory: pytest.TempPathFactory, environment: None, first_run: FirstRun
) -> Path:
    """The session's graded course before grading, for the class of this module: its
    configuration, notebooks, grading secret and gradebook as release left them, the class
    submitted, nothing graded."""
    graded = first_run.root
    root = tmp_path_factory.mktemp("template") / "course"
    root.mkdir()
    for name in (CONFIG_FILE, SECRET_FILE):
        shutil.copy(graded / name, root / name)
    shutil.copy(first_run.records / RELEASED_GRADEBOOK, root / GRADEBOOK)
    for folder in ("solutions", "lectures"):
        shutil.copytree(graded / folder, root / folder)
    for student, assignment in CLASS:
        shutil.copytree(
            graded / "submitted" / student / assignment,
            root / "submitted" / student / assignment,
        )
    assert len(CLASS) == len(BEYOND_THE_GRADING_FUNCTION) + 2  # each of its names is a case
    return root


#: What varies between two runs of the same submission, here or on a cluster: the names of
#: temporary folders, times, and the id nbgrader draws at random for a cell it puts back.
VARIES = re.compile(
    r"(chainrule-[a-z]+-)[A-Za-z0-9_]{6,}"
    r"|\d{4}-\d\d-\d\d[T ][\d:.]+(Z|[+-]\d\d:?\d\d)?"
    r'|"id": "[0-9a-f]{8}"'
)


def graded_state(root: Path, submissions: set[tuple[str, str]]) -> dict[str, object]:
    """The scores, records and autograded files of ``submissions`` (student, assignment) in a
    graded course, times and temporary names masked."""
    course = Course(root, db_url=f"sqlite:///{root / 'gradebook.db'}")
    with course.gradebook() as gradebook:
        scores = {
            (s.student, s.assignment, s.cell): s.score
            for s in cell_scores(gradebook)
            if (s.student, s.assignment) in submissions
        }
    autograded = course.directory("autograded")
    files = {
        path.relative_to(autograded).as_posix(): VARIES.sub(r"\1", path.read_text())
        for student, assignment in sorted(submissions)
        for path in sorted((autograded / student / assignment).rglob("*"))
        if path.is_file()
    }
    return {"scores": scores, "files": files}


@pytest.fixture(scope="module")
def local_run(first_run: FirstRun) -> dict[str, object]:
    """The class as the session's one local ``autograde --jobs 2`` run graded it."""
    return graded_state(first_run.root, set(CLASS))


@dataclass
class Cluster:
    """A Dask scheduler on 127.0.0.1 (its ``address``) and its two grading workers."""

    address: str
    workers: list[subprocess.Popen]
    """The two workers, restarted in place when one has ended."""
    courses: list[Path]
    """Each worker's copy of the course."""

    def start_worker(self, n: int) -> subprocess.Popen:
        """Start worker ``n``: ``python -m grader worker``, or the Dask CLI for worker 1."""
        return loopback.start_worker(self.address, self.courses[n], f"w{n}", dask_cli=n == 1)


@pytest.fixture(scope="module")
def loopback_cluster(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A scheduler and two one-thread workers, each in a copy of the course for workers, for
    the tests of this module (each starts Dask, nbgrader and a forkserver: seconds of CPU)."""
    folder = tmp_path_factory.mktemp("cluster")
    with loopback.scheduler(folder) as address:
        courses = [loopback.worker_copy(Course(template), folder / f"w{n}") for n in range(2)]
        cluster = Cluster(address, [], courses)
        try:
            cluster.workers += [cluster.start_worker(n) for n in range(2)]
            yield cluster
        finally:
            for worker in cluster.workers:
                loopback.stop(worker)


@pytest.fixture
def cluster(loopback_cluster: Cluster) -> Cluster:
    """The module's cluster with both workers at work: a worker that has ended (a test killed
    it) is started again, so no test depends on what another did to it."""
    for n, worker in enumerate(loopback_cluster.workers):
        if worker.poll() is not None:
            loopback_cluster.workers[n] = loopback_cluster.start_worker(n)
    loopback.wait_for_workers(loopback_cluster.address, 2)
    return loopback_cluster


@pytest.mark.slow
def test_the_cluster_grades_the_class_as_the_local_run_does(
    cluster: Cluster, template: Path, local_run: dict[str, object], tmp_path: Path
) -> None:
    root = shutil.copytree(template, tmp_path / "course")
    command = ["--course", str(root), "autograde", "--quiet", "--scheduler", cluster.address]
    assert main([*command, *GRADED_LIMITS]) == 0
    state = graded_state(root, set(CLASS))
    assert state["scores"] == local_run["scores"]
    assert state["files"].keys() == local_run["files"].keys()
    differing = [n for n, content in state["files"].items() if content != local_run["files"][n]]
    assert differing == []
    assert sum(name.endswith(RECORD_NAME) for name in state["files"]) == len(CLASS)


def grading_processes(worker: psutil.Process) -> list[psutil.Process]:
    """A worker's grading processes: the children of its forkserver."""
    return [p for child in worker.children() for p in child.children()]


@pytest.mark.slow
def test_a_worker_killed_mid_submission_loses_nothing(
    cluster: Cluster, template: Path, first_run: FirstRun, tmp_path: Path
) -> None:
    root = shutil.copytree(template, tmp_path / "course")
    shutil.rmtree(root / "submitted")
    for student in (*KILL_RUN, SLOW):
        submitted = Path("submitted", student, ASSIGNMENT)
        shutil.copytree(first_run.root / submitted, root / submitted)
    run = subprocess.Popen(
        [sys.executable, "-m", "grader", "--course", str(root), "autograde", "--quiet"]
        + ["--scheduler", cluster.address, *GRADED_LIMITS],
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    workers = [psutil.Process(w.pid) for w in cluster.workers]
    deadline = time.monotonic() + 300
    victim = None
    while victim is None:  # a worker whose grading process has been at work for 2 s
        assert run.poll() is None, run.stdout.read()
        assert time.monotonic() < deadline, "no worker started grading"
        time.sleep(0.1)
        busy = [
            w for w in workers for p in grading_processes(w) if time.time() - p.create_time() > 2
        ]
        victim = busy[0] if busy else None
    everything = victim.children(recursive=True)
    victim.send_signal(signal.SIGKILL)
    students = {*KILL_RUN, SLOW}
    output, _ = run.communicate(timeout=600)
    assert run.returncode == 0, output
    _, alive = psutil.wait_procs(everything, timeout=60)
    assert alive == [], "the grading processes of the killed worker survived it"
    assert f"autograde: {len(students) - 1} graded, 1 failed (score 0), 0 not graded" in output
    state = graded_state(root, {(student, ASSIGNMENT) for student in students})
    expected = graded_state(first_run.root, {(s, ASSIGNMENT) for s in students})["scores"]
    assert state["scores"] == expected
    # One submission row per student and one grade row per cell: each saved exactly once.
    engine = create_engine(Course(root).resolved_db_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT s.student_id, COUNT(DISTINCT s.id), COUNT(g.id) "
                "FROM submitted_assignment s JOIN submitted_notebook n ON n.assignment_id = s.id "
                "JOIN grade g ON g.notebook_id = n.id GROUP BY s.student_id"
            )
        ).all()
    engine.dispose()
    cells = {student: sum(1 for k in expected if k[0] == student) for student in students}
    assert sorted(rows) == sorted((student, 1, cells[student]) for student in students)


@pytest.mark.slow
def test_a_worker_with_another_version_of_the_course_refuses_and_nothing_is_scored(
    template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worker_course = loopback.worker_copy(Course(template), tmp_path / "worker")
    changed = worker_course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    changed.write_bytes(changed.read_bytes() + b"\n")  # still a notebook, another version
    root = shutil.copytree(template, tmp_path / "course")
    with loopback.scheduler(tmp_path) as address:
        worker = loopback.start_worker(address, worker_course, "stale")
        try:
            loopback.wait_for_workers(address, 1)
            command = ["--course", str(root), "autograde", "--quiet", "--scheduler", address]
            assert main([*command, "--student", "solution", "blank"]) == 1
        finally:
            loopback.stop(worker)
    out = capsys.readouterr().out
    assert "0 graded, 0 failed (score 0), 2 not graded" in out
    assert f"differ: solutions/{ASSIGNMENT}/{ASSIGNMENT}.ipynb" in out
    with Course(root).gradebook() as gradebook:
        assert gradebook.find_assignment(ASSIGNMENT).submissions == []
    assert not (root / "autograded").exists()
