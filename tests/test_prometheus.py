"""Prometheus export through prometheus_client: the same series as the hand-written exposition it
replaced, an atomic textfile, pushes to a real Pushgateway read back by a real Prometheus."""

from __future__ import annotations

import base64
import json
import os
import socket
import stat
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from _servers import (
    AUTH_PASSWORD,
    AUTH_USER,
    prometheus_query,
    pushgateway_auth_url,
    pushgateway_url,
)

pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families

from pytest_mltestscore import prometheus as prom
from pytest_mltestscore.history import MetricRecord
from pytest_mltestscore.prometheus import (
    PrometheusError,
    push,
    render,
    write_textfile,
)

DATA = Path(__file__).parent / "data"

REPORT: dict[str, Any] = {
    "schema_version": 1,
    "plugin_version": "0.1.0",
    "created": "2026-03-01T12:00:00Z",
    "rubric": "breck2017",
    "score": 0.5,
    "band": "not untested, but serious holes in reliability are likely",
    "min_score": 2.0,
    "passed": False,
    "sections": [
        {
            "id": "data",
            "score": 1.5,
            "items": [
                {"id": "data-1", "status": "automated", "points": 1.0, "tests": []},
                {"id": "data-2", "status": "manual", "points": 0.5, "tests": []},
                {"id": "data-3", "status": "missing", "points": 0.0, "tests": []},
            ],
        },
        {
            "id": "monitor",
            "score": 0.5,
            "items": [{"id": "monitor-6", "status": "failing", "points": 0.0, "tests": []}],
        },
    ],
}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample parsed by prometheus_client, keyed by (name, sorted labels)."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_report_and_metrics_round_trip_through_the_parser() -> None:
    metrics = [
        MetricRecord("latency_p95_seconds", 0.012, {"model": "default"}),
        MetricRecord("latency_p95_seconds", 0.020, {"model": "previous"}),
        ("rows_scored", 1000),
    ]
    text = render(REPORT, metrics)
    got = samples(text)
    assert got[("mltestscore_score", ())] == 0.5
    assert got[("mltestscore_min_score", ())] == 2.0
    assert got[("mltestscore_passed", ())] == 0.0
    assert got[("mltestscore_last_run_timestamp_seconds", ())] == 1772366400.0  # 2026-03-01Z
    assert got[("mltestscore_info", (("plugin_version", "0.1.0"), ("rubric", "breck2017")))] == 1
    assert got[("mltestscore_section_score", (("section", "data"),))] == 1.5
    assert got[("mltestscore_section_max", (("section", "data"),))] == 3
    assert got[("mltestscore_section_score", (("section", "monitor"),))] == 0.5
    key = (("item", "data-2"), ("section", "data"), ("status", "manual"))
    assert got[("mltestscore_item_points", key)] == 0.5
    item_samples = [k for k in got if k[0] == "mltestscore_item_points"]
    assert len(item_samples) == 4
    assert got[("mltestscore_metric_latency_p95_seconds", (("model", "default"),))] == 0.012
    assert got[("mltestscore_metric_latency_p95_seconds", (("model", "previous"),))] == 0.020
    assert got[("mltestscore_metric_rows_scored", ())] == 1000
    # every family announces itself, as the textfile collector expects
    for family in text_string_to_metric_families(text):
        assert f"# HELP {family.name} " in text and f"# TYPE {family.name} gauge" in text
        assert family.type == "gauge"


def test_a_report_without_gate_or_sections() -> None:
    text = render({"rubric": "breck2017", "score": 0.0, "min_score": None, "passed": None})
    names = {name for name, _ in samples(text)}
    assert names == {"mltestscore_info", "mltestscore_score"}


@pytest.mark.parametrize(
    "value",
    [
        'quote " inside',
        "back\\slash",
        "new\nline",
        'all \\ " \n at once \\n',
        "unicode: café ☕ 日本",
        "",
        "{braces}=,commas",
    ],
)
def test_awkward_label_values_survive(value: str) -> None:
    text = render({}, [("m", 1.0, {"model": value})])
    assert samples(text)[("mltestscore_metric_m", (("model", value),))] == 1.0


def test_names_are_sanitized_and_collisions_refused() -> None:
    text = render({}, [("latency.p95 (ms)", 3.0, {"model-name": "a", "0day": "b", "__x": "c"})])
    got = samples(text)
    labels = (("_0day", "b"), ("_x", "c"), ("model_name", "a"))
    assert got[("mltestscore_metric_latency_p95__ms_", labels)] == 3.0
    with pytest.raises(ValueError, match=r"'a\.b' and 'a_b' both become"):
        render({}, [("a.b", 1.0), ("a_b", 2.0)])
    with pytest.raises(ValueError, match="appear twice"):
        render({}, [("m", 1.0, {"k": "v"}), ("m", 2.0, {"k": "v"})])
    with pytest.raises(ValueError, match="both become 'model_name'"):
        render({}, [("m", 1.0, {"model-name": "a", "model_name": "b"})])


def test_non_finite_values_use_the_format_spelling() -> None:
    text = render({}, {"up": float("inf"), "down": float("-inf"), "unknown": float("nan")})
    assert "mltestscore_metric_up +Inf" in text and "mltestscore_metric_down -Inf" in text
    got = samples(text)
    assert got[("mltestscore_metric_up", ())] == float("inf")
    assert got[("mltestscore_metric_unknown", ())] != got[("mltestscore_metric_unknown", ())]


def test_same_series_as_the_hand_written_exposition() -> None:
    """prometheus_client gives every series the hand-written exposition gave, and no other:
    ``data/prometheus_before.prom`` was written by it for ``data/prometheus_case.json``."""
    case = json.loads((DATA / "prometheus_case.json").read_text(encoding="utf-8"))
    before_text = (DATA / "prometheus_before.prom").read_text(encoding="utf-8")
    after_text = render(case["report"], [tuple(m) for m in case["metrics"]])
    before, after = samples(before_text), samples(after_text)
    assert len(before) == 22
    assert after == before
    help_and_type = [
        line for line in before_text.splitlines() if line.startswith(("# HELP", "# TYPE"))
    ]
    assert help_and_type == [
        line for line in after_text.splitlines() if line.startswith(("# HELP", "# TYPE"))
    ]


# ---------------------------------------------------------------------------------------------
# Textfile collector


def test_write_textfile_is_atomic_and_readable(tmp_path: Path) -> None:
    path = tmp_path / "collector" / "mltestscore.prom"
    write_textfile(path, REPORT)
    assert samples(path.read_text(encoding="utf-8")) == samples(render(REPORT))
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # node_exporter runs as another user
    assert sorted(p.name for p in path.parent.iterdir()) == ["mltestscore.prom"]


def test_a_reader_never_sees_a_partial_file(tmp_path: Path) -> None:
    """The collector reads while we rewrite: every read is one whole document."""
    path = tmp_path / "mltestscore.prom"
    many = [(f"metric_{i}", float(i), {"k": "v" * 50}) for i in range(2000)]
    small, big = render(REPORT), render(REPORT, many)
    write_textfile(path, REPORT)
    stop = threading.Event()
    seen: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            seen.append(path.read_text(encoding="utf-8"))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(40):
            write_textfile(path, REPORT, many if i % 2 == 0 else ())
    finally:
        stop.set()
        thread.join()
    assert seen and all(text in (small, big) for text in seen)


def test_a_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mltestscore.prom"
    path.write_text("old 1\n")

    def broken_rename(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "rename", broken_rename)
    monkeypatch.setattr(os, "replace", broken_rename)
    with pytest.raises(PrometheusError, match=r"cannot write .*mltestscore\.prom.*No space"):
        write_textfile(path, REPORT)
    assert path.read_text() == "old 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["mltestscore.prom"]  # temp file removed


# ---------------------------------------------------------------------------------------------
# Pushgateway


def _gateway_samples(base: str, job: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        body = response.read().decode("utf-8")
    return {
        (name, tuple((k, v) for k, v in labels if k not in ("job", "instance"))): value
        for (name, labels), value in samples(body).items()
        if dict(labels).get("job") == job
    }


def _gone(base: str, job: str) -> None:
    """The Pushgateway applies a DELETE asynchronously: wait (a few seconds at most) for it."""
    deadline = time.monotonic() + 10
    while _gateway_samples(base, job) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _gateway_samples(base, job)


def test_push_to_a_real_pushgateway() -> None:
    base = pushgateway_url()
    job = f"mlts-test-{uuid.uuid4().hex[:8]}"
    grouping = {"branch": "feature/x y"}  # a '/' needs the base64 form of the URL
    metrics = [MetricRecord("latency_p95_seconds", 0.012, {"model": 'de"fault'})]
    try:
        push(base, REPORT, metrics, job=job, grouping=grouping)
        got = _gateway_samples(base, job)
        branch = ("branch", "feature/x y")
        # the push holds exactly the series of the textfile, under the grouping key
        expected = {
            (name, tuple(sorted((branch, *labels)))): value
            for (name, labels), value in samples(render(REPORT, metrics)).items()
        }
        pushed = {
            (name, labels): value
            for (name, labels), value in got.items()
            if name.startswith("mltestscore_")
        }
        assert pushed == expected
        key = (branch, ("item", "data-2"), ("section", "data"), ("status", "manual"))
        assert got[("mltestscore_item_points", key)] == 0.5

        # PUT replaces the whole group: an item that is gone from the report is gone there too
        smaller = dict(REPORT, score=1.0, sections=[REPORT["sections"][1]])
        push(base, smaller, job=job, grouping=grouping)
        got = _gateway_samples(base, job)
        assert got[("mltestscore_score", (branch,))] == 1.0
        assert not any(labels and ("item", "data-2") in labels for _, labels in got)
        assert not any(name.startswith("mltestscore_metric_") for name, _ in got)
    finally:
        prom.delete(base, job=job, grouping=grouping)
    _gone(base, job)


def test_job_and_grouping_key_from_the_url() -> None:
    base = pushgateway_url()
    job = f"mlts-url-{uuid.uuid4().hex[:8]}"
    url = f"{base}/metrics/job/{job}/branch/main"
    try:
        push(url, REPORT)
        got = _gateway_samples(base, job)
        assert got[("mltestscore_score", (("branch", "main"),))] == 0.5
    finally:
        prom.delete(url)
    _gone(base, job)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_pushgateway_is_a_clear_error() -> None:
    url = f"http://user:s3cret@127.0.0.1:{_closed_port()}"
    with pytest.raises(PrometheusError) as info:
        push(url, REPORT, timeout=2)
    message = str(info.value)
    assert "cannot reach the Pushgateway at http://user:***@127.0.0.1:" in message
    assert "/metrics/job/mltestscore" in message and "s3cret" not in message


@pytest.mark.parametrize("how", ["environment", "url"])
def test_basic_auth_against_a_gateway_that_requires_it(
    monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A real Pushgateway with basic auth (--web.config.file): refused without credentials,
    accepted with them from the environment or the URL, and the password is never shown."""
    base = pushgateway_auth_url()
    for name in (prom.USERNAME_ENV, prom.PASSWORD_ENV, prom.TOKEN_ENV):
        monkeypatch.delenv(name, raising=False)
    job = f"mlts-auth-{uuid.uuid4().hex[:8]}"
    with pytest.raises(PrometheusError, match="answered HTTP 401") as info:
        push(base, REPORT, job=job)
    assert AUTH_PASSWORD not in str(info.value)
    if how == "environment":
        monkeypatch.setenv(prom.USERNAME_ENV, AUTH_USER)
        monkeypatch.setenv(prom.PASSWORD_ENV, AUTH_PASSWORD)
        url = base
    else:
        url = base.replace("://", f"://{AUTH_USER}:{AUTH_PASSWORD}@", 1)
    try:
        push(url, REPORT, job=job)
        request = urllib.request.Request(f"{base}/metrics")
        token = base64.b64encode(f"{AUTH_USER}:{AUTH_PASSWORD}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read().decode("utf-8")
        assert samples(body)[("mltestscore_score", (("instance", ""), ("job", job)))] == 0.5
    finally:
        prom.delete(url, job=job)
    monkeypatch.setenv(prom.PASSWORD_ENV, "wrong")
    monkeypatch.setenv(prom.USERNAME_ENV, AUTH_USER)
    with pytest.raises(PrometheusError, match="answered HTTP 401") as info:
        push(base, REPORT, job=job)
    assert "wrong" not in str(info.value)


def test_bad_urls_and_arguments() -> None:
    with pytest.raises(ValueError, match="http"):
        push("gw:9091", REPORT)
    with pytest.raises(ValueError, match="metrics/job/NAME"):
        push("http://gw:9091/metrics/branch/main", REPORT)
    with pytest.raises(ValueError, match="'job'"):
        push("http://gw:9091", REPORT, grouping={"job": "other"})
    with pytest.raises(ValueError, match="timeout"):
        push("http://gw:9091", REPORT, timeout=0)


# ---------------------------------------------------------------------------------------------
# A real Prometheus server scraping the Pushgateway (started by .ci/start_servers.sh)


def test_prometheus_reads_the_pushed_score() -> None:
    base = pushgateway_url()
    job = f"mlts-prom-{uuid.uuid4().hex[:8]}"
    report = dict(REPORT, score=0.5)
    metrics = [("rows_scored", 4242.0, {"dataset": "serving"})]
    try:
        push(base, report, metrics, job=job)
        score = prometheus_query(f'mltestscore_score{{job="{job}"}}')
        assert score == [({"job": job}, 0.5)]
        rows = prometheus_query(f'mltestscore_metric_rows_scored{{job="{job}"}}')
        assert rows == [({"dataset": "serving", "job": job}, 4242.0)]
        items = prometheus_query(f'mltestscore_item_points{{job="{job}",status="manual"}}')
        assert [(labels["item"], value) for labels, value in items] == [("data-2", 0.5)]
    finally:
        prom.delete(base, job=job)
