"""Prometheus text exposition of a scored run, for node_exporter's textfile collector or a push.

Metric names (all gauges):

- ``mltestscore_info{rubric, plugin_version} 1``
- ``mltestscore_score``: the final score; ``mltestscore_min_score`` and ``mltestscore_passed``
  (1/0) when a gate was set; ``mltestscore_last_run_timestamp_seconds`` from the report's time
- ``mltestscore_section_score{section}`` and ``mltestscore_section_max{section}`` (its item count)
- ``mltestscore_item_points{item, section, status}``
- each recorded metric as ``mltestscore_metric_<name>{<its labels>}``: the name sanitized to
  ``[a-zA-Z0-9_]`` (any other character becomes ``_``), so ``latency_p95`` with labels
  ``{model: "default"}`` is ``mltestscore_metric_latency_p95{model="default"}``. One family per
  metric keeps units in names, as Prometheus naming asks, and lets a dashboard select them all
  with ``{__name__=~"mltestscore_metric_.*"}``. Label names are sanitized the same way; two names
  that sanitize alike are an error rather than a silent merge.

Label values are escaped as the format requires (backslash, double quote, newline).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import math
import os
import re
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from pytest_mltestscore.history import redact_url

PREFIX = "mltestscore"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

__all__ = [
    "CONTENT_TYPE",
    "PREFIX",
    "PrometheusError",
    "delete",
    "escape_label_value",
    "push",
    "render",
    "sanitize_label_name",
    "sanitize_metric_name",
    "write_textfile",
]


class PrometheusError(Exception):
    """Metrics could not be written or pushed (unreachable Pushgateway, HTTP error, I/O)."""


# --------------------------------------------------------------------------------------------
# Names and values

_INVALID_NAME = re.compile(r"[^a-zA-Z0-9_]")


def sanitize_metric_name(name: str) -> str:
    """A valid metric-name fragment: characters outside ``[a-zA-Z0-9_]`` become ``_``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"metric names must be non-empty strings, got {name!r}")
    return _INVALID_NAME.sub("_", name)


def sanitize_label_name(name: str) -> str:
    """A valid label name: ``[a-zA-Z_][a-zA-Z0-9_]*``, never the reserved ``__`` prefix."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"label names must be non-empty strings, got {name!r}")
    clean = _INVALID_NAME.sub("_", name)
    if clean[0].isdigit():
        clean = "_" + clean
    return re.sub(r"^_{2,}", "_", clean)


def escape_label_value(value: object) -> str:
    """Escape a label value for the text format: backslash, double quote and newline."""
    text = value if isinstance(value, str) else str(value)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value as the format writes it (``+Inf``, ``-Inf``, ``NaN`` or a Go-style float)."""
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    return repr(number)


def _labels_text(labels: Mapping[str, object]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels.items())
    return "{" + inner + "}"


class _Family:
    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help = help_text
        self.samples: list[tuple[dict[str, str], float]] = []
        self._seen: set[tuple[tuple[str, str], ...]] = set()

    def add(self, labels: Mapping[str, object], value: float, source: str) -> None:
        clean: dict[str, str] = {}
        for key, val in labels.items():
            name = sanitize_label_name(key)
            if name in clean:
                raise ValueError(f"{source}: labels {key!r} and another label both become {name!r}")
            clean[name] = val if isinstance(val, str) else str(val)
        identity = tuple(sorted(clean.items()))
        if identity in self._seen:
            raise ValueError(f"{source}: the same metric and labels {clean} appear twice")
        self._seen.add(identity)
        self.samples.append((clean, float(value)))

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {_escape_help(self.help)}", f"# TYPE {self.name} gauge"]
        lines.extend(
            f"{self.name}{_labels_text(labels)} {format_value(value)}"
            for labels, value in self.samples
        )
        return lines


def _metric_triples(metrics: Any) -> list[tuple[str, float, Mapping[str, object]]]:
    """Recorded metrics as (name, value, labels) from records, tuples or a name->value mapping."""
    if metrics is None:
        return []
    if isinstance(metrics, Mapping):
        return [(str(k), float(v), {}) for k, v in metrics.items()]
    out: list[tuple[str, float, Mapping[str, object]]] = []
    for item in metrics:
        if hasattr(item, "name") and hasattr(item, "value"):
            out.append((item.name, float(item.value), dict(getattr(item, "labels", {}) or {})))
        elif isinstance(item, (tuple, list)) and len(item) in (2, 3):
            labels = item[2] if len(item) == 3 else {}
            out.append((str(item[0]), float(item[1]), dict(labels or {})))
        else:
            raise ValueError(
                f"recorded metric {item!r}: expected (name, value[, labels]) or a record with"
                " name, value and labels"
            )
    return out


def _timestamp_seconds(created: object) -> float | None:
    if not created:
        return None
    if isinstance(created, dt.datetime):
        stamp = created
    else:
        text = str(created).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            stamp = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"report 'created' {created!r} is not an ISO 8601 time") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return stamp.timestamp()


def render(
    report: Mapping[str, Any],
    metrics: Any = (),
    *,
    prefix: str = PREFIX,
) -> str:
    """The text exposition of a JSON report dict and recorded metrics (see the module doc).

    ``metrics``: history ``MetricRecord`` objects, ``(name, value[, labels])`` tuples, or a
    ``{name: value}`` mapping.
    """
    prefix = sanitize_metric_name(prefix)
    families: list[_Family] = []

    def family(suffix: str, help_text: str) -> _Family:
        fam = _Family(f"{prefix}_{suffix}", help_text)
        families.append(fam)
        return fam

    info = family("info", "pytest-mltestscore run: rubric and plugin version (value is always 1)")
    info.add(
        {
            "rubric": report.get("rubric") or "",
            "plugin_version": report.get("plugin_version") or "",
        },
        1.0,
        "report",
    )
    if report.get("score") is not None:
        family("score", "Final ML Test Score: the minimum of the section scores").add(
            {}, report["score"], "report score"
        )
    if report.get("min_score") is not None:
        family("min_score", "Minimum ML Test Score required by the gate").add(
            {}, report["min_score"], "report min_score"
        )
    if report.get("passed") is not None:
        family("passed", "1 when the score met the gate, 0 when it did not").add(
            {}, 1.0 if report["passed"] else 0.0, "report passed"
        )
    stamp = _timestamp_seconds(report.get("created"))
    if stamp is not None:
        family("last_run_timestamp_seconds", "When the scored run finished (Unix time)").add(
            {}, stamp, "report created"
        )
    sections = list(report.get("sections") or ())
    if sections:
        score = family("section_score", "Score of one rubric section: the sum of its item points")
        size = family("section_max", "Highest possible score of the section (its item count)")
        points = family(
            "item_points", "Points of one rubric item; status says how they were earned"
        )
        for section in sections:
            sid = str(section["id"])
            items = list(section.get("items") or ())
            score.add({"section": sid}, section["score"], f"section {sid}")
            size.add({"section": sid}, float(len(items)), f"section {sid}")
            for item in items:
                item_labels = {"item": item["id"], "section": sid, "status": item.get("status", "")}
                points.add(item_labels, item["points"], f"item {item['id']}")

    recorded: dict[str, tuple[str, _Family]] = {}
    for name, value, labels in sorted(_metric_triples(metrics), key=lambda t: t[0]):
        full = f"{prefix}_metric_{sanitize_metric_name(name)}"
        if full in recorded and recorded[full][0] != name:
            raise ValueError(
                f"recorded metrics {recorded[full][0]!r} and {name!r} both become {full!r};"
                " rename one"
            )
        if full not in recorded:
            fam = _Family(full, f"Metric {name!r} recorded by pytest-mltestscore")
            families.append(fam)
            recorded[full] = (name, fam)
        recorded[full][1].add(labels, value, f"recorded metric {name!r}")

    lines: list[str] = []
    for fam in families:
        if fam.samples:
            lines.extend(fam.render())
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Textfile collector


def write_textfile(path: str | os.PathLike[str], text: str) -> None:
    """Write atomically (temp file in the same directory, fsync, rename), mode 0644.

    node_exporter's textfile collector reads ``*.prom`` files at any moment: it must never see
    a half-written file, and it usually runs as another user, hence the readable mode.
    """
    target = Path(path)
    directory = target.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise PrometheusError(f"cannot write {target}: {exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):  # already renamed: nothing to clean up
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise PrometheusError(f"cannot write {target}: {exc}") from exc
        raise
    try:  # make the rename itself durable; not all platforms can open a directory
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the data is already written
    finally:
        os.close(dir_fd)


# --------------------------------------------------------------------------------------------
# Pushgateway


def _path_part(name: str, value: str) -> str:
    """One ``/name/value`` step of a grouping key; base64 for values with '/' or empty ones."""
    if value == "":
        return f"/{name}@base64/="
    if "/" in value:
        encoded = base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii")
        return f"/{name}@base64/{encoded}"
    return f"/{name}/{quote(value, safe='')}"


def group_url(url: str, job: str = PREFIX, grouping: Mapping[str, object] | None = None) -> str:
    """The Pushgateway URL of a group: ``<url>/metrics/job/<job>[/<label>/<value>...]``."""
    if not job:
        raise ValueError("job must be a non-empty string")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"Pushgateway URL {redact_url(url)!r}: expected http(s)://host:port")
    path = parts.path.rstrip("/") + "/metrics" + _path_part("job", str(job))
    for key, value in (grouping or {}).items():
        label = sanitize_label_name(str(key))
        if label == "job":
            raise ValueError("grouping labels cannot include 'job' (give it as job=)")
        path += _path_part(label, str(value))
    return urlunsplit(parts._replace(path=path, query="", fragment=""))


def _request(method: str, url: str, body: bytes | None, timeout: float) -> None:
    parts = urlsplit(url)
    headers = {"Content-Type": CONTENT_TYPE}
    if parts.username is not None:  # credentials in the URL become HTTP basic auth
        token = f"{parts.username}:{parts.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
        netloc = parts.hostname or ""
        if parts.port is not None:
            netloc += f":{parts.port}"
        url = urlunsplit(parts._replace(netloc=netloc))
    shown = redact_url(urlunsplit(parts))
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode("utf-8", "replace").strip()
        raise PrometheusError(
            f"Pushgateway at {shown} answered HTTP {exc.code} {exc.reason} to {method}: {detail}"
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PrometheusError(
            f"cannot reach the Pushgateway at {shown} ({method}): {reason}"
        ) from exc


def push(
    url: str,
    text: str,
    *,
    job: str = PREFIX,
    grouping: Mapping[str, object] | None = None,
    timeout: float = 10.0,
    method: str = "PUT",
) -> None:
    """Push exposition text to a Pushgateway group.

    ``PUT`` (default) replaces every metric of the group, so items that vanished do not linger;
    ``POST`` replaces only the metric names pushed. Errors raise :class:`PrometheusError` naming
    the URL (password hidden).
    """
    method = method.upper()
    if method not in ("PUT", "POST"):
        raise ValueError(f"method must be 'PUT' or 'POST', got {method!r}")
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    _request(method, group_url(url, job, grouping), text.encode("utf-8"), float(timeout))


def delete(
    url: str,
    *,
    job: str = PREFIX,
    grouping: Mapping[str, object] | None = None,
    timeout: float = 10.0,
) -> None:
    """Delete a group from a Pushgateway (e.g. when a pipeline is retired)."""
    _request("DELETE", group_url(url, job, grouping), None, float(timeout))
