"""Prometheus output of a scored run, through prometheus_client (extra ``prometheus``).

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

prometheus_client writes the exposition (:func:`render`), the textfile for node_exporter's
textfile collector (:func:`write_textfile`, atomic) and pushes to a Pushgateway (:func:`push`,
with a grouping key and basic or bearer authentication from the environment).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import urllib.error
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from pytest_mltestscore.history import redact_url

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import CollectorRegistry

PREFIX = "mltestscore"
INSTALL_HINT = "pip install 'pytest-mltestscore[prometheus]'"
USERNAME_ENV = "MLTESTSCORE_PUSHGATEWAY_USERNAME"
PASSWORD_ENV = "MLTESTSCORE_PUSHGATEWAY_PASSWORD"
TOKEN_ENV = "MLTESTSCORE_PUSHGATEWAY_TOKEN"

__all__ = [
    "PREFIX",
    "PrometheusError",
    "delete",
    "push",
    "registry",
    "render",
    "sanitize_label_name",
    "sanitize_metric_name",
    "write_textfile",
]


class PrometheusError(Exception):
    """Metrics could not be written or pushed (no prometheus_client, unreachable Pushgateway,
    HTTP error, I/O)."""


def _client() -> Any:
    try:
        import prometheus_client
    except ImportError:
        raise PrometheusError(
            f"Prometheus output needs prometheus_client: {INSTALL_HINT}"
        ) from None
    return prometheus_client


# --------------------------------------------------------------------------------------------
# Names

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


# --------------------------------------------------------------------------------------------
# The families of a run


class _Family:
    """One gauge family; samples may carry different label sets (recorded metrics do)."""

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

    def metric(self) -> Metric:
        from prometheus_client.metrics_core import Metric

        out = Metric(self.name, self.help, "gauge")
        for labels, value in self.samples:
            out.add_sample(self.name, labels, value)
        return out


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


def families(
    report: Mapping[str, Any], metrics: Any = (), *, prefix: str = PREFIX
) -> list[_Family]:
    """The gauge families of a JSON report dict and recorded metrics (see the module doc)."""
    prefix = sanitize_metric_name(prefix)
    out: list[_Family] = []

    def family(suffix: str, help_text: str) -> _Family:
        fam = _Family(f"{prefix}_{suffix}", help_text)
        out.append(fam)
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
            out.append(fam)
            recorded[full] = (name, fam)
        recorded[full][1].add(labels, value, f"recorded metric {name!r}")
    return [fam for fam in out if fam.samples]


class _RunCollector:
    """A prometheus_client collector holding one run's families."""

    def __init__(self, fams: list[_Family]) -> None:
        self._families = fams

    def collect(self) -> Iterator[Metric]:
        for fam in self._families:
            yield fam.metric()


def registry(report: Mapping[str, Any], metrics: Any = ()) -> CollectorRegistry:
    """A prometheus_client registry holding the run's gauges (and nothing else)."""
    client = _client()
    reg = client.CollectorRegistry(auto_describe=False)
    reg.register(_RunCollector(families(report, metrics)))
    return reg


def render(report: Mapping[str, Any], metrics: Any = ()) -> str:
    """The text exposition of a JSON report dict and recorded metrics (see the module doc).

    ``metrics``: history ``MetricRecord`` objects, ``(name, value[, labels])`` tuples, or a
    ``{name: value}`` mapping.
    """
    return str(_client().generate_latest(registry(report, metrics)).decode("utf-8"))


# --------------------------------------------------------------------------------------------
# Textfile collector


def write_textfile(
    path: str | os.PathLike[str], report: Mapping[str, Any], metrics: Any = ()
) -> None:
    """Write the exposition atomically (prometheus_client's ``write_to_textfile``: a temporary
    file beside it, then a rename), readable by node_exporter running as another user."""
    reg = registry(report, metrics)
    target = os.fspath(path)
    try:
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
        _client().write_to_textfile(target, reg)
        os.chmod(target, 0o644)
    except OSError as exc:
        raise PrometheusError(f"cannot write {target}: {exc}") from exc


# --------------------------------------------------------------------------------------------
# Pushgateway


def _split_url(url: str) -> tuple[str, str | None, dict[str, str], str | None, str | None]:
    """Gateway base URL, job and grouping key from a URL such as
    ``http://gw:9091/metrics/job/ci/branch/main``, plus credentials written in it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"Pushgateway URL {redact_url(url)!r}: expected http(s)://host:port")
    steps = [s for s in parts.path.split("/") if s]
    job: str | None = None
    grouping: dict[str, str] = {}
    if "metrics" in steps:
        at = steps.index("metrics")
        base_path, rest = steps[:at], steps[at + 1 :]
        if len(rest) % 2 or not rest or rest[0].split("@")[0] != "job":
            raise ValueError(
                f"Pushgateway URL {redact_url(url)!r}: expected .../metrics/job/NAME"
                "[/LABEL/VALUE...] after the host"
            )
        for key, raw in zip(rest[::2], rest[1::2], strict=True):
            name, _, encoding = key.partition("@")
            value = unquote(raw)
            if encoding == "base64":
                value = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            if name == "job":
                job = value
            else:
                grouping[sanitize_label_name(name)] = value
    else:
        base_path = steps
    netloc = parts.hostname + (f":{parts.port}" if parts.port is not None else "")
    base = urlunsplit((parts.scheme, netloc, "/".join(["", *base_path]), "", ""))
    return base.rstrip("/"), job, grouping, parts.username, parts.password


def _handler(username: str | None, password: str | None) -> Callable[..., Callable[[], None]]:
    """Basic auth (URL credentials, else the environment) or a bearer token from the env."""
    from prometheus_client.exposition import basic_auth_handler, default_handler

    username = username or os.environ.get(USERNAME_ENV) or None
    password = password if password is not None else os.environ.get(PASSWORD_ENV)
    token = os.environ.get(TOKEN_ENV) or None

    def handler(
        url: str, method: str, timeout: float | None, headers: list[Any], data: bytes
    ) -> Callable[[], None]:
        if username is not None:
            return basic_auth_handler(url, method, timeout, headers, data, username, password or "")
        if token is not None:
            headers = [*headers, ("Authorization", f"Bearer {token}")]
        return default_handler(url, method, timeout, headers, data)

    return handler


def _use_gateway(
    method: str,
    url: str,
    reg: CollectorRegistry | None,
    job: str | None,
    grouping: Mapping[str, object] | None,
    timeout: float,
) -> None:
    from prometheus_client.exposition import delete_from_gateway, push_to_gateway

    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    base, url_job, url_grouping, user, password = _split_url(url)
    job = job or url_job or PREFIX
    key = {
        **url_grouping,
        **{sanitize_label_name(str(k)): str(v) for k, v in (grouping or {}).items()},
    }
    if "job" in key:
        raise ValueError("grouping labels cannot include 'job' (give it as job=)")
    shown = redact_url(url)
    where = f"{base}/metrics/job/{job}" + "".join(f"/{k}/{v}" for k, v in sorted(key.items()))
    where = redact_url(where)
    try:
        if method == "DELETE":
            delete_from_gateway(
                base, job=job, grouping_key=key, timeout=timeout, handler=_handler(user, password)
            )
        else:
            assert reg is not None
            push_to_gateway(
                base,
                job=job,
                registry=reg,
                grouping_key=key,
                timeout=timeout,
                handler=_handler(user, password),
            )
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode("utf-8", "replace").strip()
        raise PrometheusError(
            f"Pushgateway at {shown} answered HTTP {exc.code} {exc.reason} to {method} {where}:"
            f" {detail}"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PrometheusError(
            f"cannot reach the Pushgateway at {shown} ({method} {where}): {reason}"
        ) from None


def push(
    url: str,
    report: Mapping[str, Any],
    metrics: Any = (),
    *,
    job: str | None = None,
    grouping: Mapping[str, object] | None = None,
    timeout: float = 10.0,
) -> None:
    """Push the run's gauges to a Pushgateway group with prometheus_client's ``push_to_gateway``
    (a PUT: every metric of the group is replaced, so items that vanished do not linger).

    The group is ``job`` (default: from the URL's ``/metrics/job/NAME`` path, else
    ``mltestscore``) and the grouping key (the URL's ``/LABEL/VALUE`` pairs, then ``grouping``).
    Credentials: ``user:password@`` in the URL, else ``MLTESTSCORE_PUSHGATEWAY_USERNAME`` and
    ``MLTESTSCORE_PUSHGATEWAY_PASSWORD`` (basic auth), else ``MLTESTSCORE_PUSHGATEWAY_TOKEN``
    (a bearer token). Errors raise :class:`PrometheusError` naming the URL, password hidden.
    """
    _use_gateway("PUT", url, registry(report, metrics), job, grouping, float(timeout))


def delete(
    url: str,
    *,
    job: str | None = None,
    grouping: Mapping[str, object] | None = None,
    timeout: float = 10.0,
) -> None:
    """Delete a group from a Pushgateway (e.g. when a pipeline is retired)."""
    _client()
    _use_gateway("DELETE", url, None, job, grouping, float(timeout))
