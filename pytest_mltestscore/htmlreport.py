"""The HTML report: one self-contained page of the run, readable without JavaScript.

It renders the report dict (JSON schema version 2): the score and the gate, the findings first
(each failed test's message, its findings table and its plots: training against serving for a
drifted column, a metric per slice with its interval...), the scorecard with what would earn
each missing point, the score and section trend from the history, and every built-in check with
its figures. Plots are inline SVG drawn by matplotlib (:mod:`pytest_mltestscore.plots`); the
styles are inline too, and nothing on the page refers to another file or address.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .report import fmt_points, gate_message, item_detail

MAX_ROWS = 40
SHOWN_ROWS = 8  # findings rows shown at once; the rest fold away
STATUS_CLASS = {
    "automated": "ok",
    "manual": "manual",
    "failing": "bad",
    "stale": "warn",
    "missing": "none",
}
OUTCOME_CLASS = {
    "passed": "ok",
    "failed": "bad",
    "error": "bad",
    "skipped": "none",
    "xfailed": "none",
    "xpassed": "warn",
}

CSS = """
:root { --ok:#2e7d4f; --bad:#c0392b; --warn:#b7791f; --manual:#2b6cb0; --none:#8a8f98;
  --ink:#1f2328; --muted:#59636e; --line:#d8dee4; --bg:#f6f8fa; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",
  Arial,sans-serif; color:var(--ink); background:#fff; }
header.top { background:var(--bg); border-bottom:1px solid var(--line); padding:24px 32px; }
.head { display:flex; flex-wrap:wrap; gap:32px; align-items:center; max-width:1180px;
  margin:0 auto; }
.score { font-size:56px; font-weight:700; line-height:1; }
.score small { font-size:22px; color:var(--muted); font-weight:500; }
h1 { font-size:22px; margin:0 0 4px; }
h2 { font-size:20px; margin:36px 0 12px; padding-bottom:6px; border-bottom:1px solid var(--line); }
h3 { font-size:16px; margin:0 0 8px; }
.band { margin:0; color:var(--muted); }
.gate { display:inline-block; margin:8px 0 0; padding:3px 10px; border-radius:6px;
  font-weight:600; }
.gate.bad { background:#fbe9e7; color:var(--bad); }
.gate.ok { background:#e6f4ea; color:var(--ok); }
.meta { color:var(--muted); font-size:13px; margin:6px 0 0; }
.sections { display:grid; grid-template-columns:auto 160px auto; gap:4px 10px;
  align-items:center; font-size:14px; }
.bar { height:10px; background:#e3e7ec; border-radius:5px; overflow:hidden; }
.bar span { display:block; height:100%; background:var(--manual); }
.bar.lowest span { background:var(--bad); }
nav { max-width:1180px; margin:0 auto; padding:10px 32px; font-size:14px; }
nav a { margin-right:18px; color:var(--manual); text-decoration:none; }
main { max-width:1180px; margin:0 auto; padding:0 32px 48px; }
.card { border:1px solid var(--line); border-left:4px solid var(--bad); border-radius:6px;
  padding:14px 18px; margin:14px 0; background:#fff; }
.card.passed { border-left-color:var(--ok); } .card.skipped { border-left-color:var(--none); }
.card .nodeid { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
  font-size:13px; color:var(--muted); word-break:break-all; }
pre { background:var(--bg); border:1px solid var(--line); border-radius:6px; padding:10px 12px;
  overflow-x:auto; font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
  white-space:pre-wrap; word-break:break-word; margin:8px 0; }
table { border-collapse:collapse; width:100%; font-size:13.5px; margin:8px 0; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line);
  vertical-align:top; }
th { background:var(--bg); font-weight:600; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
table.findings { font-size:12.5px; } table.findings td { overflow-wrap:break-word; }
table.findings td:first-child { white-space:nowrap; }
.pill { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px;
  font-weight:600; color:#fff; white-space:nowrap; }
.pill.ok { background:var(--ok); } .pill.bad { background:var(--bad); }
.pill.warn { background:var(--warn); } .pill.manual { background:var(--manual); }
.pill.none { background:var(--none); }
.plots { display:grid; grid-template-columns:repeat(auto-fill,minmax(440px,1fr)); gap:12px; }
figure { margin:8px 0; border:1px solid var(--line); border-radius:6px; padding:8px 10px; }
figure.flagged { border-color:#e8b4ad; background:#fffafa; }
figcaption { font-size:13px; font-weight:600; margin-bottom:4px; }
figcaption span { display:block; font-weight:400; color:var(--muted); }
figure svg { width:100%; height:auto; display:block; }
figure svg text { font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif
  !important; }
details { margin:8px 0; } summary { cursor:pointer; }
details > summary::marker { color:var(--manual); }
td:first-child { white-space:nowrap; }
.muted { color:var(--muted); } .small { font-size:13px; }
.toearn { font-size:13px; color:var(--muted); }
footer { color:var(--muted); font-size:12px; max-width:1180px; margin:0 auto; padding:16px 32px; }
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "-"
    return str(value)


class _Plots:
    """Draws figures with unique ids in the page."""

    def __init__(self, salt: str = "mlts") -> None:
        self.salt = salt
        self.count = 0

    def figure(self, fig: Mapping[str, Any]) -> str:
        from .plots import svg

        self.count += 1
        drawn = svg(fig, salt=f"{self.salt}-{self.count}")
        why = f"<span>{_e(fig['why'])}</span>" if fig.get("why") else ""
        cls = ' class="flagged"' if fig.get("flagged") else ""
        return f"<figure{cls}><figcaption>{_e(fig.get('title'))}{why}</figcaption>{drawn}</figure>"

    def grid(self, figs: Sequence[Mapping[str, Any]]) -> str:
        if not figs:
            return ""
        return '<div class="plots">' + "".join(self.figure(f) for f in figs) + "</div>"


def _findings_table(rows: Sequence[Mapping[str, Any]] | None) -> str:
    """The findings, the first rows shown and the rest folded."""
    if not rows:
        return ""
    if len(rows) <= SHOWN_ROWS + 2:
        return _table(rows)
    rest = len(rows) - SHOWN_ROWS
    return (
        _table(rows[:SHOWN_ROWS])
        + f"<details><summary>{rest} more rows</summary>{_table(rows[SHOWN_ROWS:])}</details>"
    )


def _table(rows: Sequence[Mapping[str, Any]]) -> str:
    columns = list(rows[0])
    out = ['<table class="findings"><thead><tr>']
    out += [f"<th>{_e(c)}</th>" for c in columns]
    out.append("</tr></thead><tbody>")
    for row in rows[:MAX_ROWS]:
        cells = []
        for c in columns:
            value = row.get(c)
            num = ' class="num"' if isinstance(value, (int, float)) else ""
            cells.append(f"<td{num}>{_e(_cell(value))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    if len(rows) > MAX_ROWS:
        out.append(f'<p class="muted small">... and {len(rows) - MAX_ROWS} more rows</p>')
    return "".join(out)


def _tests(report: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Each test once (a test may earn several items), with the first item it is listed under."""
    seen: set[str] = set()
    for section in report["sections"]:
        for item in section["items"]:
            for test in item["tests"]:
                if test["nodeid"] not in seen:
                    seen.add(test["nodeid"])
                    yield item, test


def _check_body(test: Mapping[str, Any], plots: _Plots, *, all_figures: bool) -> str:
    """A test's message, findings table and figures (flagged ones first, others folded)."""
    check = test.get("check")
    parts = []
    if test.get("message"):
        text = test["message"]
        if check and check.get("findings"):
            text = f"{check['check']}: {check['verdict'].upper()}: {check['summary']}"
            text = "\n".join([text, *check.get("notes", [])])
        parts.append(f"<pre>{_e(text)}</pre>")
    if not check:
        return "".join(parts)
    figures = check.get("figures") or []
    flagged = [f for f in figures if f.get("flagged")]
    others = [f for f in figures if not f.get("flagged")]
    if all_figures and not flagged:
        flagged, others = others, []
    parts.append(plots.grid(flagged))
    if others:
        parts.append(
            f"<details><summary>{len(others)} more plot{'s' if len(others) != 1 else ''}"
            f"</summary>{plots.grid(others)}</details>"
        )
    parts.append(_findings_table(check.get("findings")))
    return "".join(parts)


def _header(report: Mapping[str, Any]) -> str:
    gate = gate_message(dict(report))
    gate_html = ""
    if gate is not None:
        cls = "bad" if report["passed"] is False else "ok"
        gate_html = f'<p class="gate {cls}">{_e(gate)}</p>'
    rows = []
    for s in report["sections"]:
        share = s["score"] / s["max_score"] if s["max_score"] else 0.0
        lowest = " lowest" if s["score"] == report["score"] else ""
        rows.append(
            f"<span>{_e(s['title'])}</span>"
            f'<div class="bar{lowest}"><span style="width:{100 * share:.1f}%"></span></div>'
            f"<span>{fmt_points(s['score'])} / {fmt_points(s['max_score'])}</span>"
        )
    meta = (
        f"rubric {_e(report['rubric'])} · {_e(report['created'])} · pytest-mltestscore "
        f"{_e(report['plugin_version'])}"
    )
    return (
        '<header class="top"><div class="head">'
        f'<div class="score">{fmt_points(report["score"])}'
        f"<small> / {fmt_points(report['max_score'])}</small></div>"
        f'<div><h1>ML Test Score</h1><p class="band">{_e(report["band"])}</p>{gate_html}'
        f'<p class="meta">{meta}</p></div>'
        f'<div class="sections">{"".join(rows)}</div>'
        "</div></header>"
    )


def _findings(report: Mapping[str, Any], plots: _Plots) -> str:
    failed = [(i, t) for i, t in _tests(report) if t["outcome"] in ("failed", "error")]
    out = ['<section id="findings"><h2>Findings</h2>']
    if not failed:
        out.append('<p class="muted">No test or built-in check failed.</p>')
    for item, test in failed:
        out.append(
            '<article class="card">'
            f'<h3>{_e(item["id"])} · {_e(item["title"])} <span class="pill bad">'
            f"{_e(test['outcome'])}</span></h3>"
            f'<div class="nodeid">{_e(test["nodeid"])}</div>'
            f"{_check_body(test, plots, all_figures=True)}</article>"
        )
    out.append("</section>")
    return "".join(out)


def _scorecard(report: Mapping[str, Any]) -> str:
    out = ['<section id="scorecard"><h2>Scorecard</h2>']
    for s in report["sections"]:
        lowest = " (lowest)" if s["score"] == report["score"] else ""
        out.append(
            f"<h3>{_e(s['title'])}: {fmt_points(s['score'])} / {fmt_points(s['max_score'])}"
            f"{lowest}</h3>"
        )
        out.append(
            "<table><thead><tr><th>Item</th><th>Test</th><th>Status</th><th>Points</th>"
            "<th>Evidence</th></tr></thead><tbody>"
        )
        for i in s["items"]:
            earn = (
                f'<div class="toearn">To earn it: {_e(i["to_earn"])}</div>'
                if i.get("to_earn")
                else ""
            )
            out.append(
                f"<tr><td>{_e(i['id'])}</td><td>{_e(i['title'])}{earn}</td>"
                f'<td><span class="pill {STATUS_CLASS.get(i["status"], "none")}">'
                f"{_e(i['status'])}</span></td>"
                f'<td class="num">{fmt_points(i["points"])}</td>'
                f"<td>{_e(item_detail(i))}</td></tr>"
            )
        out.append("</tbody></table>")
    out.append("</section>")
    return "".join(out)


def _trends(report: Mapping[str, Any], plots: _Plots) -> str:
    history = report.get("history")
    out = ['<section id="trends"><h2>Trends</h2>']
    runs = (history or {}).get("runs") or []
    if not history:
        out.append(
            '<p class="muted">No run history: set <code>history</code> in '
            "<code>[tool.mltestscore]</code> to keep one and see the score over runs.</p>"
        )
    elif len(runs) < 2:
        out.append('<p class="muted">The first stored run: trends start with the next.</p>')
    else:
        sections = [s["id"] for s in report["sections"]]
        figure = {
            "kind": "series",
            "title": f"Score and sections over the last {len(runs)} runs",
            "x": [f"run {r['run_id']}" for r in runs],
            "x_label": "run",
            "y_label": "points",
            "series": [{"name": "score", "values": [r["score"] for r in runs]}]
            + [{"name": sid, "values": [r["sections"].get(sid) for r in runs]} for sid in sections],
            "lines": [{"name": "gate", "value": report["min_score"]}]
            if report["min_score"] is not None
            else [],
        }
        out.append(plots.grid([figure]))
    changes = (history or {}).get("changes") or []
    if changes:
        out.append("<p>Changed since the previous run:</p><ul>")
        out += [
            f"<li>{_e(c['item'])}: {_e(c['previous'])} → {_e(c['current'])}</li>" for c in changes
        ]
        out.append("</ul>")
    out.append("</section>")
    return "".join(out)


def _checks(report: Mapping[str, Any], plots: _Plots) -> str:
    shown = [
        (i, t)
        for i, t in _tests(report)
        if t.get("check") is not None and t["outcome"] not in ("failed", "error")
    ]
    skipped = [(i, t) for i, t in _tests(report) if t["outcome"] == "skipped"]
    out = ['<section id="checks"><h2>Checks that passed or were not judged</h2>']
    if not shown and not skipped:
        out.append('<p class="muted">None.</p>')
    for item, test in shown:
        cls = OUTCOME_CLASS.get(test["outcome"], "none")
        count = len(test["check"].get("figures") or [])
        drawn = f' <span class="muted small">({count} plot{"s" if count != 1 else ""})</span>'
        out.append(
            f'<details class="card {_e(test["outcome"])}"><summary>{_e(item["id"])} · '
            f'<span class="pill {cls}">{_e(test["outcome"])}</span> '
            f"{_e(test['check'].get('summary'))}{drawn if count else ''}</summary>"
            f'<div class="nodeid">{_e(test["nodeid"])}</div>'
            f"{_check_body(test, plots, all_figures=True)}</details>"
        )
    others = [(i, t) for i, t in skipped if t.get("check") is None]
    if others:
        out.append(
            "<h3>Not judged</h3><table><thead><tr><th>Item</th><th>Test</th>"
            "<th>Reason</th></tr></thead><tbody>"
        )
        for item, test in others:
            out.append(
                f'<tr><td>{_e(item["id"])}</td><td class="nodeid">{_e(test["nodeid"])}</td>'
                f"<td>{_e(test.get('message'))}</td></tr>"
            )
        out.append("</tbody></table>")
    out.append("</section>")
    return "".join(out)


def render_html(report: Mapping[str, Any]) -> str:
    """The whole page, as text."""
    plots = _Plots()
    title = (
        f"ML Test Score {fmt_points(report['score'])} / {fmt_points(report['max_score'])}"
        f" ({report['rubric']})"
    )
    body = [
        _header(report),
        '<nav><a href="#findings">Findings</a><a href="#scorecard">Scorecard</a>'
        '<a href="#trends">Trends</a><a href="#checks">Checks</a></nav><main>',
        _findings(report, plots),
        _scorecard(report),
        _trends(report, plots),
        _checks(report, plots),
        "</main>",
        f"<footer>Written by pytest-mltestscore {_e(report['plugin_version'])}; plots drawn "
        "with matplotlib as inline SVG; this page loads nothing else.</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        + "".join(body)
        + "</body></html>\n"
    )


# -- pytest-html: the scorecard in its summary, plots in a check's row ---------------------------
SUMMARY_CSS = """
.mlts { margin:12px 0 18px; font-size:14px; }
.mlts .mlts-score { font-size:28px; font-weight:700; }
.mlts table { border-collapse:collapse; margin:6px 0 12px; }
.mlts th, .mlts td { text-align:left; padding:3px 8px; border-bottom:1px solid #d8dee4; }
.mlts .pill { padding:1px 7px; border-radius:9px; color:#fff; font-size:12px; }
.mlts .ok { background:#2e7d4f; } .mlts .bad { background:#c0392b; }
.mlts .warn { background:#b7791f; } .mlts .manual { background:#2b6cb0; }
.mlts .none { background:#8a8f98; } .mlts .fail { color:#c0392b; font-weight:600; }
.mlts-plots figure { margin:6px 0; max-width:720px; }
.mlts-plots figcaption { font-weight:600; }
.mlts-plots figcaption span { display:block; font-weight:400; color:#59636e; }
.mlts-plots svg { width:100%; height:auto; }
"""


def figures_html(figures: Sequence[Mapping[str, Any]], salt: str) -> str:
    """Figures as a block of inline SVG (for a pytest-html row); ``salt`` keeps ids unique."""
    plots = _Plots(salt)
    body = "".join(plots.figure(f) for f in figures)
    return f'<style>{SUMMARY_CSS}</style><div class="mlts-plots">{body}</div>'


def summary_html(report: Mapping[str, Any]) -> str:
    """The score, the gate and the scorecard as one block (for pytest-html's summary)."""
    gate = gate_message(dict(report))
    out = [
        f'<style>{SUMMARY_CSS}</style><div class="mlts"><h2>ML Test Score</h2>',
        f'<div><span class="mlts-score">{fmt_points(report["score"])} / '
        f"{fmt_points(report['max_score'])}</span> {_e(report['band'])}</div>",
    ]
    if gate is not None:
        cls = "fail" if report["passed"] is False else ""
        out.append(f'<p class="{cls}">{_e(gate)}</p>')
    for s in report["sections"]:
        out.append(
            f"<h3>{_e(s['title'])}: {fmt_points(s['score'])} / {fmt_points(s['max_score'])}</h3>"
            "<table><tr><th>Item</th><th>Test</th><th>Status</th><th>Points</th>"
            "<th>Evidence</th></tr>"
        )
        for i in s["items"]:
            out.append(
                f"<tr><td>{_e(i['id'])}</td><td>{_e(i['title'])}</td>"
                f'<td><span class="pill {STATUS_CLASS.get(i["status"], "none")}">'
                f"{_e(i['status'])}</span></td><td>{fmt_points(i['points'])}</td>"
                f"<td>{_e(item_detail(i))}</td></tr>"
            )
        out.append("</table>")
    out.append("</div>")
    return "".join(out)
