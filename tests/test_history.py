"""The run history store: round trip, migrations, concurrent writers, killed writers, bad files.

Every behaviour is checked on SQLite and, when a server is reachable, on PostgreSQL (see
tests/_servers.py for the skip/fail rule).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _servers import isolated_postgres_url

from pytest_mltestscore import history as h
from pytest_mltestscore.history import (
    HistoryError,
    ItemRecord,
    MetricRecord,
    ProfileRecord,
    RunRecord,
    SectionRecord,
    open_store,
)

SECTIONS = ("data", "model", "infra", "monitor")
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


def make_record(
    tag: str, *, score: float = 1.5, status: str = "automated", created: dt.datetime = T0
) -> RunRecord:
    """A run with 4 sections of 7 items, two labelled metrics and a profile."""
    items = [
        ItemRecord(f"{s}-{n}", s, status if n == 1 else "missing", 1.0 if n == 1 else 0.0)
        for s in SECTIONS
        for n in range(1, 8)
    ]
    return RunRecord(
        rubric="breck2017",
        score=score,
        band="a first pass at productionization",
        min_score=2.0,
        passed=False,
        sections=[SectionRecord(s, 1.0 + i) for i, s in enumerate(SECTIONS)],
        items=items,
        metrics=[
            MetricRecord("latency_p95", 0.010, {"model": "default"}),
            MetricRecord("latency_p95", 0.020, {"model": "previous"}),
            MetricRecord("rows", 1000),
        ],
        profiles=[ProfileRecord("serving", {"columns": {"x": {"mean": 0.5, "n": 10}}})],
        created=created,
        git_commit=tag,
        git_branch="main",
    )


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh store location on each backend."""
    if request.param == "sqlite":
        yield str(tmp_path / "hist" / "history.sqlite")
    else:
        with isolated_postgres_url() as url:
            yield url


# ---------------------------------------------------------------------------------------------
# Round trip


def test_append_and_read_back(store_url: str) -> None:
    first = make_record("c1", score=1.0, created=T0)
    second = make_record("c2", score=2.0, status="failing", created=T0 + dt.timedelta(days=1))
    with open_store(store_url) as store:
        assert store.previous_run() is None
        id1 = store.append_run(first)
        id2 = store.append_run(second)
        assert id2 > id1
        assert store.load_run(id1).record == first
        assert store.load_run(id2).record == second

        runs = store.runs(10)
        assert [r.id for r in runs] == [id2, id1]
        assert runs[0].git_commit == "c2" and runs[0].created == second.created
        assert runs[1].passed is False and runs[1].min_score == 2.0
        assert [r.id for r in store.runs(1)] == [id2]

        assert store.previous_run().id == id2
        assert store.previous_run(before=id2).id == id1
        assert store.previous_run(before=id1) is None

        series = store.metric_series("latency_p95", {"model": "default"})
        assert [(p.run_id, p.value) for p in series] == [(id1, 0.010), (id2, 0.010)]
        other = store.metric_series("latency_p95", {"model": "previous"}, limit=1)
        assert [(p.run_id, p.value) for p in other] == [(id2, 0.020)]
        assert store.metric_series("latency_p95") == []  # labels must match exactly
        assert [p.value for p in store.metric_series("rows", {})] == [1000.0, 1000.0]
        assert store.metric_series("latency_p95", {"model": "default"}, before=id2)[0].run_id == id1

        assert [(p.run_id, p.value) for p in store.score_trend()] == [(id1, 1.0), (id2, 2.0)]
        profiles = store.profile_series("serving")
        assert [p[0] for p in profiles] == [id1, id2]
        assert profiles[0][2] == {"columns": {"x": {"mean": 0.5, "n": 10}}}

        changes = {
            c.item: c for c in store.item_changes({"data-1": "automated", "new-1": "manual"})
        }
        assert changes["data-1"].previous == "failing" and changes["data-1"].changed
        assert changes["new-1"].previous is None
        assert changes["data-2"].previous == "missing" and changes["data-2"].current is None
        assert store.run_items(id2) == list(second.items)
        unchanged = store.item_changes({"data-1": "failing"})
        assert not unchanged[0].changed

        with pytest.raises(HistoryError, match="no run with id 999"):
            store.load_run(999)


def test_labels_are_canonical(tmp_path: Path) -> None:
    """Label order and number-vs-string values do not split a series."""
    with open_store(tmp_path / "h.sqlite") as store:
        for value in (1.0, 2.0):
            store.append_run(
                RunRecord(
                    rubric="r",
                    score=None,
                    metrics=[MetricRecord("m", value, {"b": 2, "a": "x"})],
                )
            )
        series = store.metric_series("m", {"a": "x", "b": "2"})
        assert [p.value for p in series] == [1.0, 2.0]
        assert store.score_trend() == []  # runs without a score have no trend point


def test_store_persists_after_reopen(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    with open_store(path) as store:
        run_id = store.append_run(make_record("c1"))
    with open_store(f"sqlite:///{path}") as store:  # sqlite:////abs/path (absolute)
        assert store.load_run(run_id).record.git_commit == "c1"
        assert store.schema_version() == h.SCHEMA_VERSION


def test_from_report_dict() -> None:
    report = {
        "schema_version": 1,
        "plugin_version": "0.1.0",
        "created": "2026-03-01T12:00:00Z",
        "rubric": "breck2017",
        "score": 0.5,
        "band": "not untested",
        "min_score": None,
        "passed": None,
        "sections": [
            {
                "id": "data",
                "score": 0.5,
                "items": [{"id": "data-1", "status": "manual", "points": 0.5, "tests": []}],
            }
        ],
    }
    record = RunRecord.from_report(report, git=h.GitInfo("abc", "main"))
    assert record.created == T0
    assert record.items == (ItemRecord("data-1", "data", "manual", 0.5),)
    assert record.sections == (SectionRecord("data", 0.5),)
    assert (record.git_commit, record.git_branch, record.score) == ("abc", "main", 0.5)


def test_invalid_records_are_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        RunRecord(rubric="r", score=1.0, created=dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="finite"):
        MetricRecord("latency", float("nan"))
    with pytest.raises(ValueError, match="duplicate metric"):
        RunRecord(rubric="r", score=1.0, metrics=[MetricRecord("m", 1), MetricRecord("m", 2)])
    with open_store(tmp_path / "h.sqlite") as store:
        bad = RunRecord(rubric="r", score=1.0, profiles=[ProfileRecord("serving", {"x": object()})])
        with pytest.raises(ValueError, match="profile of dataset 'serving' is not JSON-safe"):
            store.append_run(bad)
        assert store.runs() == []
        with pytest.raises(ValueError, match="limit"):
            store.runs(0)


def test_open_store_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///rel/h.sqlite") as store:
        store.append_run(make_record("c"))
    assert (tmp_path / "rel" / "h.sqlite").is_file()
    with open_store("rel/h.sqlite") as store:
        assert len(store.runs()) == 1
    with pytest.raises(ValueError, match="unsupported scheme 'mysql'"):
        open_store("mysql://u:p@host/db")
    with pytest.raises(ValueError, match="empty"):
        open_store("  ")
    with pytest.raises(ValueError, match="sqlite:///relative"):
        open_store("sqlite://")


# ---------------------------------------------------------------------------------------------
# Migrations

# Schema version 1 written by hand (as a released plugin would have created it): no labels on
# metrics, no profiles table.
V1_DDL = {
    "sqlite": [
        "CREATE TABLE mlts_schema_version (version INTEGER PRIMARY KEY,"
        " description TEXT NOT NULL, applied TEXT NOT NULL)",
        "CREATE TABLE mlts_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL,"
        " git_commit TEXT, git_branch TEXT, plugin_version TEXT NOT NULL, rubric TEXT NOT NULL,"
        " score REAL, band TEXT, min_score REAL, passed INTEGER)",
        "CREATE TABLE mlts_sections (run_id INTEGER NOT NULL REFERENCES mlts_runs (id),"
        " section TEXT NOT NULL, score REAL NOT NULL, PRIMARY KEY (run_id, section))",
        "CREATE TABLE mlts_items (run_id INTEGER NOT NULL REFERENCES mlts_runs (id),"
        " item TEXT NOT NULL, section TEXT NOT NULL, status TEXT NOT NULL,"
        " points REAL NOT NULL, PRIMARY KEY (run_id, item))",
        "CREATE TABLE mlts_metrics (run_id INTEGER NOT NULL REFERENCES mlts_runs (id),"
        " name TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (run_id, name))",
    ],
    "postgres": [
        "CREATE TABLE mlts_schema_version (version INTEGER PRIMARY KEY,"
        " description TEXT NOT NULL, applied TIMESTAMPTZ NOT NULL)",
        "CREATE TABLE mlts_runs (id BIGSERIAL PRIMARY KEY, created TIMESTAMPTZ NOT NULL,"
        " git_commit TEXT, git_branch TEXT, plugin_version TEXT NOT NULL, rubric TEXT NOT NULL,"
        " score DOUBLE PRECISION, band TEXT, min_score DOUBLE PRECISION, passed BOOLEAN)",
        "CREATE TABLE mlts_sections (run_id BIGINT NOT NULL REFERENCES mlts_runs (id),"
        " section TEXT NOT NULL, score DOUBLE PRECISION NOT NULL, PRIMARY KEY (run_id, section))",
        "CREATE TABLE mlts_items (run_id BIGINT NOT NULL REFERENCES mlts_runs (id),"
        " item TEXT NOT NULL, section TEXT NOT NULL, status TEXT NOT NULL,"
        " points DOUBLE PRECISION NOT NULL, PRIMARY KEY (run_id, item))",
        "CREATE TABLE mlts_metrics (run_id BIGINT NOT NULL REFERENCES mlts_runs (id),"
        " name TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, PRIMARY KEY (run_id, name))",
    ],
}
V1_ROWS = [
    "INSERT INTO mlts_schema_version VALUES (1, 'v1', '2025-01-01T00:00:00+00:00')",
    "INSERT INTO mlts_runs (created, git_commit, git_branch, plugin_version, rubric, score,"
    " band, min_score, passed) VALUES ('2025-01-02T03:04:05+00:00', 'old', 'main', '0.0.9',"
    " 'breck2017', 0.5, 'not untested', NULL, NULL)",
    "INSERT INTO mlts_sections VALUES (1, 'data', 0.5)",
    "INSERT INTO mlts_items VALUES (1, 'data-1', 'data', 'manual', 0.5)",
    "INSERT INTO mlts_metrics VALUES (1, 'latency_p95', 0.25)",
]


def _write_v1(store_url: str) -> None:
    if store_url.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(store_url, autocommit=True) as conn, conn.transaction():
            for statement in V1_DDL["postgres"] + V1_ROWS:
                conn.execute(statement)
    else:
        Path(store_url).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(store_url)
        with conn:
            for statement in V1_DDL["sqlite"] + V1_ROWS:
                conn.execute(statement)
        conn.close()


def test_migrates_a_version_1_store(store_url: str) -> None:
    _write_v1(store_url)
    with open_store(store_url) as store:
        assert store.schema_version() == h.SCHEMA_VERSION == 3
        old = store.load_run(1).record
        assert old.created == dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
        assert (old.git_commit, old.plugin_version, old.score) == ("old", "0.0.9", 0.5)
        assert old.items == (ItemRecord("data-1", "data", "manual", 0.5),)
        assert old.metrics == (MetricRecord("latency_p95", 0.25),)
        # New features work on the migrated store, and old rows join the unlabelled series.
        new_id = store.append_run(
            RunRecord(
                rubric="breck2017",
                score=1.0,
                metrics=[
                    MetricRecord("latency_p95", 0.3),
                    MetricRecord("latency_p95", 9, {"a": 1}),
                ],
                profiles=[ProfileRecord("serving", {"n": 3})],
            )
        )
        assert [p.value for p in store.metric_series("latency_p95")] == [0.25, 0.3]
        assert store.profile_series("serving")[0][0] == new_id
    with open_store(store_url) as store:  # opening again is a no-op
        assert store.schema_version() == h.SCHEMA_VERSION
        assert len(store.runs()) == 2


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    with open_store(path) as store:
        store.append_run(make_record("c1"))
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO mlts_schema_version VALUES (99, 'future', '2030-01-01')")
    conn.close()
    with pytest.raises(HistoryError, match=r"schema version 99 is newer.*upgrade"):
        open_store(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM mlts_runs").fetchone()[0] == 1
    conn.close()


# ---------------------------------------------------------------------------------------------
# Concurrency and crashes (separate processes)

WRITER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from pytest_mltestscore.history import (
        ItemRecord, MetricRecord, ProfileRecord, RunRecord, SectionRecord, open_store)

    url, tag, count, go, payload = sys.argv[1:6]
    count, payload = int(count), int(payload)
    sections = ["data", "model", "infra", "monitor"]
    deadline = time.monotonic() + 60
    while not Path(go).exists():  # start together
        if time.monotonic() > deadline:
            sys.exit("never told to go")
        time.sleep(0.005)
    store = open_store(url, timeout=60)
    i = 0
    while count < 0 or i < count:
        record = RunRecord(
            rubric="breck2017", score=1.0,
            sections=[SectionRecord(s, 1.0) for s in sections],
            items=[
                ItemRecord(f"{s}-{n}", s, "automated", 1.0) for s in sections for n in range(1, 8)
            ],
            metrics=[MetricRecord(f"m{k}", k, {"writer": tag}) for k in range(50)],
            profiles=[ProfileRecord("serving", {"blob": "x" * payload, "i": i})],
            git_commit=f"{tag}-{i}",
        )
        print("begin", i, flush=True)
        run_id = store.append_run(record)
        print("committed", run_id, flush=True)
        i += 1
    store.close()
    """
)


def _spawn_writer(
    tmp_path: Path, url: str, tag: str, count: int, go: Path, payload: int
) -> subprocess.Popen[str]:
    script = tmp_path / "writer.py"
    if not script.exists():
        script.write_text(WRITER)
    return subprocess.Popen(
        [sys.executable, str(script), url, tag, str(count), str(go), str(payload)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _assert_complete_runs(store: h.HistoryStore, payload: int) -> list[str]:
    """Every stored run has all its sections, items, metrics and its whole profile."""
    tags = []
    for summary in store.runs(None):
        record = store.load_run(summary.id).record
        assert len(record.sections) == 4, summary
        assert len(record.items) == 28, summary
        assert len(record.metrics) == 50, summary
        assert len(record.profiles) == 1 and len(record.profiles[0].profile["blob"]) == payload
        tags.append(record.git_commit)
    return tags


def test_four_concurrent_writers_lose_no_row(store_url: str, tmp_path: Path) -> None:
    open_store(store_url).close()  # create the schema (concurrent creation is tested below)
    go = tmp_path / "go"
    per_writer = 8
    procs = [_spawn_writer(tmp_path, store_url, f"w{k}", per_writer, go, 1000) for k in range(4)]
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with open_store(store_url) as store:
        tags = _assert_complete_runs(store, 1000)
    expected = {f"w{k}-{i}" for k in range(4) for i in range(per_writer)}
    assert sorted(tags) == sorted(expected)  # each exactly once


def test_concurrent_first_open_creates_schema_once(store_url: str, tmp_path: Path) -> None:
    """Four processes opening a store that does not exist yet all succeed."""
    go = tmp_path / "go"
    procs = [_spawn_writer(tmp_path, store_url, f"w{k}", 1, go, 10) for k in range(4)]
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with open_store(store_url) as store:
        assert sorted(_assert_complete_runs(store, 10)) == [f"w{k}-0" for k in range(4)]
        assert store.schema_version() == h.SCHEMA_VERSION


def _read_lines_until(proc: subprocess.Popen[str], want_commits: int) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    while sum(line.startswith("committed") for line in lines) < want_commits:
        line = proc.stdout.readline()
        if not line:
            _, err = proc.communicate()
            raise AssertionError(f"writer exited early: {err}")
        lines.append(line)
    return lines


def test_sigkilled_writer_leaves_a_consistent_store(store_url: str, tmp_path: Path) -> None:
    payload = 2_000_000  # a few MB per run: a kill lands inside a write most of the time
    rng = random.Random(0)
    go = tmp_path / "go"
    go.touch()
    acknowledged: set[int] = set()
    for round_ in range(3):
        proc = _spawn_writer(tmp_path, store_url, f"k{round_}", -1, go, payload)
        lines = _read_lines_until(proc, 2)
        time.sleep(rng.uniform(0.0, 0.3))
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        lines += rest.splitlines()
        acknowledged |= {int(x.split()[1]) for x in lines if x.startswith("committed")}

    if not store_url.startswith("postgresql://"):
        conn = sqlite3.connect(store_url)  # the raw file, before our code touches it
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.close()
    with open_store(store_url) as store:
        if isinstance(store, h.SQLiteHistoryStore):
            assert store.integrity_check() == []
        _assert_complete_runs(store, payload)
        stored = {r.id for r in store.runs(None)}
        assert acknowledged <= stored  # every run the writer saw committed is there
        store.append_run(make_record("after"))  # and the store still takes writes


# ---------------------------------------------------------------------------------------------
# Faults: corrupt, locked, foreign, unreachable


def test_garbage_file_is_a_clear_error_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    content = b"this is not a database\n" * 200
    path.write_bytes(content)
    with pytest.raises(HistoryError) as info:
        open_store(path)
    message = str(info.value)
    assert str(path) in message and "not a valid SQLite database or is corrupt" in message
    assert path.read_bytes() == content
    assert not Path(f"{path}-wal").exists()


def test_damaged_pages_are_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with open_store(path) as store:
        for i in range(20):
            store.append_run(make_record(f"c{i}"))
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    rng = random.Random(0)
    for offset in range(page, len(data)):  # keep page 1 (header, schema), scramble the rest
        data[offset] = rng.randrange(256)
    path.write_bytes(bytes(data))
    with (
        pytest.raises(HistoryError, match=r"history\.sqlite.*(corrupt|not a valid)"),
        open_store(path) as store,
    ):
        for summary in store.runs(None):
            store.load_run(summary.id)


def test_locked_store_is_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with open_store(path) as store:
        first = store.append_run(make_record("c1"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    other.execute("UPDATE mlts_runs SET band = band")
    try:
        with open_store(path, timeout=0.2) as store:
            with pytest.raises(HistoryError) as info:
                store.append_run(make_record("c2"))
            assert "locked by another process" in str(info.value)
            assert str(path) in str(info.value)
            assert [r.id for r in store.runs()] == [first]  # reads still work
    finally:
        other.execute("ROLLBACK")
        other.close()
    with open_store(path) as store:
        assert store.load_run(first).record.git_commit == "c1"
        store.append_run(make_record("c2"))
        assert len(store.runs()) == 2


def test_a_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE users (id INTEGER)")
    conn.close()
    with pytest.raises(HistoryError, match=r"other tables \(users\).*refusing"):
        open_store(path)
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    conn.close()
    assert tables == ["users"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_postgres_is_a_clear_error_without_password() -> None:
    pytest.importorskip("psycopg")
    url = f"postgresql://mlts:s3cret@127.0.0.1:{_closed_port()}/mlts"
    with pytest.raises(HistoryError) as info:
        open_store(url, timeout=2)
    message = str(info.value)
    assert "postgresql://mlts:***@127.0.0.1" in message and "unreachable" in message
    assert "s3cret" not in message


def test_missing_psycopg_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg -> ImportError
    with pytest.raises(ImportError, match=r"pip install pytest-mltestscore\[postgres\]"):
        open_store("postgresql://u:p@127.0.0.1/db")


# ---------------------------------------------------------------------------------------------
# Git


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_git_info_reads_commit_and_branch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (*h._CI_BRANCH_VARS, *h._CI_COMMIT_VARS):
        monkeypatch.delenv(var, raising=False)
    repo = tmp_path / "repo"
    repo.mkdir()
    try:
        _git(repo, "init", "-q", "-b", "feature")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is not installed")
    (repo / "f").write_text("x")
    _git(repo, "add", "f")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "m")
    info = h.git_info(repo)
    assert info.commit == _git(repo, "rev-parse", "HEAD") and len(info.commit) == 40
    assert info.branch == "feature"
    _git(repo, "checkout", "-q", "--detach")
    monkeypatch.setenv("GITHUB_REF_NAME", "ci-branch")
    assert h.git_info(repo) == h.GitInfo(info.commit, "ci-branch")


def test_git_info_without_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (*h._CI_BRANCH_VARS, *h._CI_COMMIT_VARS):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no git binary at all
    assert h.git_info(tmp_path) == h.GitInfo(None, None)
    monkeypatch.setenv("GITHUB_SHA", "abc123")
    assert h.git_info(tmp_path).commit == "abc123"


def test_profiles_accept_numpy_values(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    profile = {"hist": np.arange(3), "mean": np.float64(0.5), "n": np.int64(7)}
    with open_store(tmp_path / "h.sqlite") as store:
        store.append_run(RunRecord(rubric="r", score=1.0, profiles=[ProfileRecord("s", profile)]))
        stored = store.profile_series("s")[0][2]
    assert stored == json.loads(json.dumps({"hist": [0, 1, 2], "mean": 0.5, "n": 7}))
