"""HTML pages of a run: report.html, declaration.html, and the index of all runs.

Rule 1: every page is self-contained (inline CSS and SVG, images as data: URIs, no script, no
        external reference), so it opens offline from a file, a mail attachment or an archive.
Rule 2: every string from a device or a test goes through `esc`; nothing is trusted as markup.
"""

from __future__ import annotations

from html import escape
from typing import Any

from pytest_bview.report import model as m
from pytest_bview.report.diff import Diff, shape_text
from pytest_bview.verdicts import ADVISORY, FAIL, INCONCLUSIVE, NOT_RUN, NOT_SUPPORTED, PASS, VERDICTS, WAIVED

SPEC = "B-View 2 REST API (SPT907000SERIES2 v1.8)"
WORST_FIRST = (FAIL, WAIVED, ADVISORY, INCONCLUSIVE, NOT_SUPPORTED, PASS, NOT_RUN)
CLASS = {
    PASS: "pass",
    FAIL: "fail",
    WAIVED: "waived",
    ADVISORY: "adv",
    NOT_SUPPORTED: "ns",
    INCONCLUSIVE: "inc",
    NOT_RUN: "nr",
}
SHORT = {
    PASS: "pass",
    FAIL: "fail",
    WAIVED: "waived",
    ADVISORY: "adv.",
    NOT_SUPPORTED: "n/s",
    INCONCLUSIVE: "inc.",
    NOT_RUN: "not run",
}
IDENTITY_ROWS = (
    ("Model", "DeviceTypeName"),
    ("Device name", "DeviceName"),
    ("Serial number", "SerialNum"),
    ("Hardware version", "HardWareVersion"),
    ("Firmware version", "SoftWareVersion"),
    ("MAC address", "MacAddress"),
)
CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#1b1f23}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.partial{background:#fff1c2}.pass{background:#dafbe1}.fail{background:#ffd7d5}.waived{background:#fff1c2}.ns{background:#eaeef2}.adv{background:#fbefff}
.inc{background:#ddf4ff}.nr{background:#fff;color:#8c959f}.na{background:#f6f8fa;color:#c4c9cf}.ex{background:#f0fff4;color:#57606a}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px}
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:6px;white-space:pre-wrap;word-break:break-all;font-size:12px;margin:4px 0}
details{margin:6px 0;border:1px solid #d0d7de;border-radius:4px;padding:4px 8px}summary{cursor:pointer}
.muted{color:#57606a}.big{font-size:28px;font-weight:600}img.evidence{max-width:480px;border:1px solid #d0d7de}
@media print{details{border:none}summary{list-style:none}}
"""


def esc(value: Any) -> str:
    return escape("" if value is None else str(value))


def page(title: str, body: str, extra_css: str = "") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{CSS}{extra_css}</style></head><body>\n{body}\n</body></html>\n"
    )


def badge(verdict: str, text: str | None = None) -> str:
    return f'<span class="badge {CLASS.get(verdict, "nr")}">{esc(text or verdict)}</span>'


def worst(counts: dict[str, int]) -> str:
    return next((v for v in WORST_FIRST if counts.get(v)), NOT_RUN)


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g} %"


def counts_cells(counts: dict[str, int]) -> str:
    return "".join(f'<td class="num {CLASS[v] if counts.get(v) else ""}">{counts.get(v, 0)}</td>' for v in VERDICTS)


def counts_head() -> str:
    return "".join(f"<th>{esc(v)}</th>" for v in VERDICTS)


# -- report.html -----------------------------------------------------------------------------------


def report(run: m.Run) -> str:
    counts = run.counts()
    parts = [
        f"<h1>B-View 2 conformance: {esc(run.model)} firmware {esc(run.firmware)}</h1>",
        f'<p class="muted">{esc(run.started)} to {esc(run.finished)} · {esc(SPEC)} · '
        f"pytest-bview {esc(run.tool.get('version'))} · level {esc(run.options.get('level'))}</p>",
        _scope(run),
        f'<p><span class="big">{pct(run.conformance())}</span> conformance '
        f'<span class="muted">(passed share of conclusive checks{" of this partial run" if run.partial else ""})'
        f"</span> · {esc(m.counts_line(counts))}</p>",
        _identity(run),
        _restore(run),
        _health(run),
        "<h2>Compliance by spec section</h2>",
        _sections(run),
        "<h2>Compliance matrix: resource × method</h2>",
        _matrix(run),
        _failures(run),
        _advisories(run),
        _security_advisories(run),
        _diff(run),
        "<h2>Latency per resource (ms)</h2>",
        _latency(run),
        _others(run),
        "<h2>Options used</h2>",
        _options(run),
    ]
    return page(f"{run.model} {run.firmware} conformance", "\n".join(p for p in parts if p))


def _identity(run: m.Run) -> str:
    rows = [(label, run.identity.get(key, "")) for label, key in IDENTITY_ROWS]
    rows += [
        ("Tool", f"{run.tool.get('name', 'pytest-bview')} {run.tool.get('version', '')}"),
        ("Python / pytest", f"{run.tool.get('python', '')} / {run.tool.get('pytest', '')}"),
        ("Safety level", run.options.get("level", "")),
        ("Target", str(run.options.get("host") or "built-in reference camera")),
    ]
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<h2>Device under test</h2><table id="device">{body}</table>'


def _restore(run: m.Run) -> str:
    if not run.restore:
        return '<p id="restore" class="muted">Restore verdict: none recorded.</p>'
    return f'<p id="restore"><b>Restore verdict:</b> {esc(run.restore)}</p>'


def _health(run: m.Run) -> str:
    if not run.health:
        return ""
    items = "".join(f"<li>{esc(h['event'])}</li>" for h in run.health)
    return f'<h2>Device health</h2><ul id="health">{items}</ul>'


def _sections(run: m.Run) -> str:
    rows = []
    for section, counts in run.by_section():
        rows.append(
            f"<tr><td>{esc(section)}</td>{counts_cells(counts)}<td class='num'>{pct(m.conformance(counts))}</td></tr>"
        )
    total = f"<tr><th>all</th>{counts_cells(run.counts())}<th class='num'>{pct(run.conformance())}</th></tr>"
    return f'<table id="sections"><tr><th>section</th>{counts_head()}<th>conformance</th></tr>{"".join(rows)}{total}</table>'


def _matrix(run: m.Run) -> str:
    from pytest_bview.spec.resources import RESOURCES

    cells = run.matrix()
    exercised = {tuple(k.split(" ", 1)[::-1]) for k in run.latency}
    rows = []
    for r in RESOURCES:
        have = {op.method for op in r.ops}
        tds = []
        for method in m.METHODS:
            key = (r.template, method)
            if method not in have:
                tds.append('<td class="na">·</td>')
            elif key in cells:
                c = cells[key]
                text = " ".join(f"{n} {SHORT[v]}" for v in WORST_FIRST if (n := c.get(v)))
                tds.append(f'<td class="{CLASS[worst(c)]}">{esc(text)}</td>')
            elif key in exercised:
                tds.append('<td class="ex">exercised</td>')
            else:
                tds.append('<td class="nr">—</td>')
        rows.append(f"<tr><td>{esc(r.section)}</td><td>{esc(r.template)}</td>{''.join(tds)}</tr>")
    head = "<tr><th>section</th><th>resource</th>" + "".join(f"<th>{x}</th>" for x in m.METHODS) + "</tr>"
    legend = (
        '<p class="muted">A cell counts the tests aimed at that resource-method; "exercised": requested by other '
        'tests only; "—": not requested; "·": the spec defines no such method.</p>'
    )
    return f'<table id="matrix">{head}{"".join(rows)}</table>{legend}'


def _failures(run: m.Run) -> str:
    failed = [t for t in run.tests if t.verdict == FAIL]
    waived = [t for t in run.tests if t.verdict == WAIVED]
    if not failed and not waived:
        return '<h2>Failed checks</h2><p id="failures">None.</p>'
    out = [f'<h2>Failed checks ({len(failed)})</h2><div id="failures">']
    out += [_failure(t, open_=True) for t in failed]
    out.append("</div>")
    if waived:
        out.append(f"<h2>Waived (known deviations, {len(waived)})</h2>")
        out += [_failure(t, open_=False) for t in waived]
    return "\n".join(out)


def _scope(run: m.Run) -> str:
    """A partial run says so first, with its selection and what it left out."""
    if not run.partial:
        return ""
    s = run.scope
    left = s.get("left_out", [])
    more = s.get("left_out_count", len(left)) - len(left)
    items = "".join(f"<li>{esc(n)}</li>" for n in left) + (f"<li>... and {more} more</li>" if more > 0 else "")
    return (
        f'<div id="scope" class="partial"><p><b>Partial run</b>: {esc("; ".join(s.get("reasons", [])))}. '
        f"Selection: <code>{esc(s.get('selection', ''))}</code>. It is not the whole certification selection, "
        "so no declaration of conformance is issued for it.</p>"
        f"<details><summary>Left out ({s.get('left_out_count', len(left))})</summary><ul>{items}</ul></details></div>"
    )


def _advisories(run: m.Run) -> str:
    """Failed SHOULD/MAY rules (verdicts.py Rule 3): shown, never counted against conformance."""
    shown = [t for t in run.tests if t.verdict == ADVISORY and not t.security]
    if not shown:
        return ""
    out = [
        f'<h2>Advisories (SHOULD/MAY rules not met, {len(shown)})</h2><div id="advisories">',
        '<p class="muted">The spec recommends these; they do not count against conformance '
        "(<code>--bview-strict</code> makes them failures).</p>",
    ]
    out += [_failure(t, open_=False) for t in shown]
    out.append("</div>")
    return "\n".join(out)


def _security_advisories(run: m.Run) -> str:
    """Security advisories (SECURITY rules of spec/rules.py): what the spec allows and a security standard
    advises against; their own section, never counted against conformance, --bview-strict or not."""
    shown = run.security_advisories()
    if not shown:
        ran = sum(1 for t in run.tests if t.area == "security" and t.verdict != NOT_RUN)
        if not ran:
            return ""
        return f'<h2>Security advisories</h2><p id="security-advisories">None ({ran} security checks run).</p>'
    rows = "".join(
        f"<tr><td>{esc(t.rule)}</td><td>{esc(t.security)}</td><td>{esc(t.section)}</td><td>{esc(t.id)}</td></tr>"
        for t in shown
    )
    out = [
        f'<h2>Security advisories (beyond the spec, {len(shown)})</h2><div id="security-advisories">',
        '<p class="muted">The spec allows these; the provision named (ETSI EN 303 645, OWASP ISVS) advises '
        "against them. They never count against conformance.</p>",
        f"<table><tr><th>rule</th><th>provision</th><th>spec section</th><th>check</th></tr>{rows}</table>",
    ]
    out += [_failure(t, open_=False) for t in shown]
    out.append("</div>")
    return "\n".join(out)


def _failure(t: m.TestResult, *, open_: bool) -> str:
    ev = t.evidence or {}
    head = (
        f"{badge(t.verdict)} <b>{esc(t.id)}</b> <span class='muted'>spec {esc(ev.get('section') or t.section)}</span>"
    )
    body = []
    if ev.get("did"):
        body.append(f"<p><b>device:</b> {esc(ev['did'])}<br><b>spec requires:</b> {esc(ev.get('requires'))}</p>")
    elif ev.get("message") or t.reason:
        body.append(f"<pre>{esc(ev.get('message') or t.reason)}</pre>")
    if t.expectation:
        e = t.expectation
        body.append(
            f"<p class='muted'>expected: {esc(e.get('verdict'))} — {esc(e.get('reason'))} {_link(e.get('link'))}</p>"
        )
    for ex in ev.get("exchanges", []):
        body.append(_exchange(ex))
    for img in ev.get("images", []):
        if str(img).startswith("data:image/"):
            body.append(f'<img class="evidence" alt="frame" src="{esc(img)}">')
    return f"<details{' open' if open_ else ''}><summary>{head}</summary>{''.join(body)}</details>"


def _link(url: str | None) -> str:
    if not url:
        return ""
    if url.startswith(("https://", "http://")):
        return f'<a href="{esc(url)}">{esc(url)}</a>'
    return esc(url)


def _exchange(ex: dict[str, Any]) -> str:
    req = [ex.get("request", "")] + [f"{k}: {v}" for k, v in ex.get("request_headers", {}).items()]
    if ex.get("request_body"):
        req += ["", ex["request_body"]]
    if ex.get("error"):
        resp = [f"(no answer) {ex['error']}"]
    else:
        resp = [f"HTTP {ex.get('status')} {ex.get('reason', '')}".rstrip()]
        resp += [f"{k}: {v}" for k, v in ex.get("response_headers", {}).items()]
        if ex.get("response_body"):
            resp += ["", ex["response_body"]]
    parts = [
        f"<pre>{esc(chr(10).join(req))}</pre>",
        f"<pre>{esc(chr(10).join(resp))}</pre>",
    ]
    if ex.get("image"):
        parts.append(f'<img class="evidence" alt="image from the device" src="{esc(ex["image"])}">')
    parts.append(f"<p class='muted'>Reproduce with:</p><pre>{esc(ex.get('curl', ''))}</pre>")
    return f"<div class='exchange'>{''.join(parts)}</div>"


def _latency(run: m.Run) -> str:
    if not run.latency:
        return "<p>No HTTP exchanges.</p>"
    rows = sorted(run.latency.items(), key=lambda kv: -kv[1]["p95"])
    body = "".join(
        f"<tr><td>{esc(k)}</td><td class='num'>{v['n']}</td><td class='num'>{v['p50']:g}</td>"
        f"<td class='num'>{v['p95']:g}</td><td class='num'>{v['max']:g}</td></tr>"
        for k, v in rows
    )
    table = (
        f'<table id="latency"><tr><th>resource</th><th>n</th><th>p50</th><th>p95</th><th>max</th></tr>{body}</table>'
    )
    return _chart(rows[:25]) + table


def _chart(rows: list[tuple[str, dict[str, float]]]) -> str:
    """Horizontal bars of p95 with the p50 as a tick: the slowest resources first."""
    if not rows:
        return ""
    top = max(v["p95"] for _k, v in rows) or 1.0
    width, label, bar_h = 760, 300, 14
    out = []
    for i, (k, v) in enumerate(rows):
        y = i * (bar_h + 4)
        w95 = (width - label - 60) * v["p95"] / top
        x50 = label + (width - label - 60) * v["p50"] / top
        out.append(
            f'<text x="{label - 6}" y="{y + 11}" text-anchor="end" font-size="11">{esc(k[:48])}</text>'
            f'<rect x="{label}" y="{y}" width="{w95:.1f}" height="{bar_h}" fill="#8ec5ff"/>'
            f'<line x1="{x50:.1f}" x2="{x50:.1f}" y1="{y}" y2="{y + bar_h}" stroke="#0b3d91" stroke-width="2"/>'
            f'<text x="{label + w95 + 4:.1f}" y="{y + 11}" font-size="11">{v["p95"]:g}</text>'
        )
    height = len(rows) * (bar_h + 4)
    return (
        f'<svg id="latency-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="p95 latency per resource">{"".join(out)}</svg>'
        '<p class="muted">Bars: p95; tick: p50 (ms).</p>'
    )


def _diff(run: m.Run) -> str:
    if not run.diff:
        return ""
    d = Diff.from_dict(run.diff)
    out = [f'<h2 id="diff">Changes since {esc(d.older)}</h2><p>{esc(d.summary())}</p>']
    for title, rows in (
        ("Regressions", d.regressions),
        ("Fixes", d.fixes),
        ("Newly not supported", d.newly_unsupported),
        ("Other verdict changes", d.other_changes),
    ):
        if rows:
            body = "".join(
                f"<tr><td>{esc(r['id'])}</td><td>{esc(r.get('section'))}</td><td>{badge(r['before'])}</td>"
                f"<td>{badge(r['after'])}</td><td>{esc(r.get('reason'))}</td></tr>"
                for r in rows
            )
            out.append(
                f"<h3>{title} ({len(rows)})</h3><table><tr><th>test</th><th>section</th><th>before</th>"
                f"<th>now</th><th>why</th></tr>{body}</table>"
            )
    if d.shape:
        body = "".join(f"<tr><td>{esc(s['resource'])}</td><td>{esc(shape_text(s))}</td></tr>" for s in d.shape)
        out.append(f"<h3>API shape ({len(d.shape)})</h3><table><tr><th>resource</th><th>change</th></tr>{body}</table>")
    if d.latency:
        body = "".join(
            f"<tr><td>{esc(x['resource'])}</td><td class='num'>{x['before_p50']:g}</td><td class='num'>{x['after_p50']:g}</td>"
            f"<td class='num'>{x['before_p95']:g}</td><td class='num'>{x['after_p95']:g}</td><td>{esc(x['change'])}</td></tr>"
            for x in d.latency
        )
        out.append(
            "<h3>Latency shifts</h3><table><tr><th>resource</th><th>p50 before</th><th>p50 now</th>"
            f"<th>p95 before</th><th>p95 now</th><th></th></tr>{body}</table>"
        )
    if d.added_tests or d.removed_tests:
        out.append(
            f"<p class='muted'>{len(d.added_tests)} tests new in this run, {len(d.removed_tests)} no longer run.</p>"
        )
    return "\n".join(out)


def _others(run: m.Run) -> str:
    rows = [t for t in run.tests if t.verdict in (NOT_SUPPORTED, INCONCLUSIVE) or t.flags]
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{esc(t.id)}</td><td>{esc(t.section)}</td><td>{badge(t.verdict)}</td>"
        f"<td>{esc(t.reason)}{' — ' + esc(', '.join(t.flags)) if t.flags else ''}</td></tr>"
        for t in rows
    )
    return (
        f"<h2>Not supported, inconclusive and flagged ({len(rows)})</h2><table id='others'><tr><th>test</th>"
        f"<th>section</th><th>verdict</th><th>reason</th></tr>{body}</table>"
    )


def _options(run: m.Run) -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in run.options.items())
    return f'<table id="options">{body}</table>'


# -- declaration.html ----------------------------------------------------------------------------------


def declaration(run: m.Run) -> str:
    counts = run.counts()
    failing = sorted({t.section or "?" for t in run.tests if t.verdict == FAIL}, key=m.section_key)
    waived = sorted({t.section or "?" for t in run.tests if t.verdict == WAIVED}, key=m.section_key)
    advised = sorted({t.rule or t.section or "?" for t in run.tests if t.verdict == ADVISORY and not t.security})
    security = sorted({f"{t.rule} ({t.security})" for t in run.security_advisories()})
    ident = "".join(f"<tr><th>{esc(k)}</th><td>{esc(run.identity.get(key, ''))}</td></tr>" for k, key in IDENTITY_ROWS)
    statement = (
        "conforms to every requirement checked"
        if not counts[FAIL] and not counts[WAIVED]
        else "does not conform to every requirement checked"
    )
    if run.partial:
        statement = "was tested by a partial run only; this page is not a declaration of conformance"
    body = f"""
<h1>{"Partial run: no declaration of conformance" if run.partial else "Declaration of conformance"}</h1>
<p>{esc(SPEC)}</p>
{_scope(run)}
<table id="device">{ident}
<tr><th>Tested</th><td>{esc(run.started)} to {esc(run.finished)}</td></tr>
<tr><th>Tool</th><td>pytest-bview {esc(run.tool.get("version"))}, safety level {esc(run.options.get("level"))}</td></tr>
<tr><th>Run</th><td>{esc(run.path)}</td></tr></table>
<p>The device above <b>{statement}</b> by the test run identified here.</p>
<table><tr>{counts_head()}<th>conformance</th></tr><tr>{counts_cells(counts)}<td class="num"><b>{pct(run.conformance())}</b></td></tr></table>
<p><b>Sections with failures:</b> {esc(", ".join(failing) or "none")}<br>
<b>Sections with waived (known) deviations:</b> {esc(", ".join(waived) or "none")}<br>
<b>Advisories (SHOULD/MAY rules not met, not counted against conformance):</b> {esc(", ".join(advised) or "none")}<br>
<b>Security advisories (beyond the spec, not counted against conformance):</b> {esc(", ".join(security) or "none")}<br>
<b>Restore verdict:</b> {esc(run.restore or "none recorded")}</p>
<p class="muted">Not supported: the device reported it lacks the feature. Inconclusive: the check could not run.
Neither counts against conformance. Details and reproduction: report.html beside this file;
integrity: <code>bview-report verify {esc(run.path)}</code>.</p>
<table class="sign"><tr><th>Tested by</th><td></td><th>Date</th><td></td></tr>
<tr><th>Approved by</th><td></td><th>Signature</th><td></td></tr></table>
"""
    extra = "@page{size:A4;margin:15mm}body{max-width:180mm}table.sign td{width:45mm;height:12mm}"
    title = "Partial run (no declaration)" if run.partial else "Declaration of conformance"
    return page(f"{title} {run.model} {run.firmware}", body, extra)


# -- index.html ----------------------------------------------------------------------------------------


def index(runs: list[dict[str, Any]]) -> str:
    rows = []
    for r in runs:
        c = r.get("counts", {})
        base = esc(r["path"])
        links = (
            f'<a href="{base}/{m.REPORT}">report</a> · <a href="{base}/{m.DECLARATION}">declaration</a> · '
            f'<a href="{base}/{m.RESULTS}">results.json</a> · <a href="{base}/{m.JUNIT}">junit.xml</a>'
        )
        rows.append(
            f"<tr><td>{esc(r['model'])}</td><td>{esc(r['firmware'])}</td><td>{esc(r['started'])}</td>"
            f"<td class='{'partial' if r.get('partial') else ''}' title='{esc(r.get('scope', ''))}'>"
            f"{'partial' if r.get('partial') else 'full'}</td>"
            f"{counts_cells(c)}<td class='num'>{pct(r.get('conformance'))}</td>"
            f"<td class='num {'fail' if r.get('regressions') else ''}'>{r.get('regressions', 0)}</td><td>{links}</td></tr>"
        )
    head = (
        f"<tr><th>model</th><th>firmware</th><th>date (UTC)</th><th>scope</th>{counts_head()}<th>conformance</th>"
        "<th>regressions</th><th>files</th></tr>"
    )
    body = f'<h1>B-View 2 conformance runs</h1><p class="muted">{len(runs)} runs</p><table id="runs">{head}{"".join(rows)}</table>'
    return page("B-View 2 conformance runs", body)
