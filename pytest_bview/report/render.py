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
from pytest_bview.spec.sections import titled
from pytest_bview.verdicts import (
    ADVISORY,
    FAIL,
    INCONCLUSIVE,
    NOT_RUN,
    NOT_SUPPORTED,
    PASS,
    VERDICTS,
    WAIVED,
    WORST_FIRST,
    worst,
)

SPEC = "B-View 2 REST API (SPT907000SERIES2 v1.8)"
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
.banner{border-radius:6px;padding:10px 16px;margin:10px 0;border:2px solid}.banner .big{margin-right:12px}
.banner.pass{background:#dafbe1;border-color:#1a7f37}.banner.fail{background:#ffd7d5;border-color:#cf222e}
.banner.partial,.banner.waived{background:#fff1c2;border-color:#9a6700}.banner.adv{background:#fbefff;border-color:#8250df}
.banner.none{background:#eaeef2;border-color:#57606a}
ul.broke{margin:4px 0;padding-left:20px}ul.broke li{margin:2px 0}nav#contents{margin:8px 0;font-size:13px}
nav#contents a{margin-right:12px}details.block>summary{font-weight:600}
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


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g} %"


def counts_cells(counts: dict[str, int]) -> str:
    return "".join(f'<td class="num {CLASS[v] if counts.get(v) else ""}">{counts.get(v, 0)}</td>' for v in VERDICTS)


def counts_head() -> str:
    return "".join(f"<th>{esc(v)}</th>" for v in VERDICTS)


# -- report.html -----------------------------------------------------------------------------------


def report(run: m.Run) -> str:
    """The run, worst news first: verdict banner, what broke and where in the spec, then the detail."""
    parts = [
        f"<h1>B-View 2 conformance: {esc(run.model)} firmware {esc(run.firmware)}</h1>",
        f'<p class="muted">serial {esc(run.identity.get("SerialNum"))} · {esc(run.started)} to {esc(run.finished)} · '
        f"{esc(SPEC)} · pytest-bview {esc(run.tool.get('version'))} · level {esc(run.options.get('level'))}</p>",
        _banner(run),
        _contents(run),
        _scope(run),
        _broke(run),
        _failures(run),
        _advisories(run),
        _security_advisories(run),
        _others(run),
        _identity(run),
        _restore(run),
        _health(run),
        _block("sections-block", "Compliance by spec section", _sections_summary(run), _sections(run)),
        _block("matrix-block", "Compliance matrix: resource × method", _matrix_summary(run), _matrix(run)),
        _diff(run),
        _block("latency-block", "Latency per resource (ms)", f"{len(run.latency)} resource-methods", _latency(run)),
        '<h2 id="options-head">Options used</h2>',
        _options(run),
    ]
    return page(f"{run.model} {run.firmware} conformance", "\n".join(p for p in parts if p))


def run_verdict(run: m.Run) -> tuple[str, str]:
    """(banner class, headline): fail, waived (known deviations only), partial, advisories, pass or none."""
    c = run.counts()
    if c[FAIL]:
        return "fail", "FAIL"
    if c[WAIVED]:
        return "waived", "FAIL (known deviations only, waived)"
    if run.conformance() is None:
        return "none", "NO VERDICT (no conclusive check)"
    if run.partial:
        return "partial", "PARTIAL RUN: passed what it ran"
    if c[ADVISORY]:
        return "adv", "PASS with advisories"
    return "pass", "PASS"


def _banner(run: m.Run) -> str:
    kind, headline = run_verdict(run)
    c = run.counts()
    failing = {_where(t) for t in run.tests if t.verdict == FAIL}
    why = (
        [
            f"{c[FAIL]} failed check{'s' if c[FAIL] != 1 else ''} in {len(failing)} spec section"
            f"{'s' if len(failing) != 1 else ''}"
        ]
        if c[FAIL]
        else []
    )
    if c[ADVISORY]:
        why.append(f"{c[ADVISORY]} advisor{'ies' if c[ADVISORY] != 1 else 'y'} (SHOULD/MAY)")
    if run.partial:
        why.append("partial run: no declaration of conformance")
    return (
        f'<div id="verdict" class="banner {kind}"><span class="big">{esc(headline)}</span> '
        f"<b>{pct(run.conformance())}</b> conformance "
        f'<span class="muted">(passed share of conclusive checks{" of this partial run" if run.partial else ""})'
        f"</span><br>{esc('; '.join(why))}{' · ' if why else ''}{esc(m.counts_line(c))}</div>"
    )


def _anchor(run: m.Run) -> dict[str, str]:
    """Test id -> the id of its evidence block in the page."""
    return {t.id: f"t{i}" for i, t in enumerate(run.tests)}


OPEN_FAILURES = 20
MAX_LINKS = 6  # links per spec section in the first-screen list; the rest are in the detail below


def _where(t: m.TestResult) -> str:
    """The spec section a result is about: the finding's own section first (a suite-wide test names chapter 9)."""
    return (t.evidence or {}).get("section") or t.section or "?"


def _what(t: m.TestResult) -> str:
    ev = t.evidence or {}
    lines = (ev.get("did") or ev.get("message") or t.reason or "").strip().splitlines()
    return lines[0][:160] if lines else ""


def _broke(run: m.Run) -> str:
    """Failures, then advisories, one line per spec section: its title, what the device did, links to the evidence."""
    anchors = _anchor(run)
    out = []
    for verdict, title, id_, more in (
        (FAIL, "What failed", "broke", "failures"),
        (ADVISORY, "Advisories", "advised", "advisories"),
    ):
        by_section: dict[str, list[m.TestResult]] = {}
        for t in run.tests:
            if t.verdict == verdict:
                by_section.setdefault(_where(t), []).append(t)
        if not by_section:
            continue
        items = []
        for section in sorted(by_section, key=m.section_key):
            tests = by_section[section]
            said = list(dict.fromkeys(w for t in tests if (w := _what(t))))
            resources = {t.resource for t in tests}
            where = titled(section, resources.pop() if len(resources) == 1 else "")
            links = ", ".join(f'<a href="#{anchors[t.id]}">{esc(t.id.split("::")[-1])}</a>' for t in tests[:MAX_LINKS])
            if len(tests) > MAX_LINKS:
                links += f' <a href="#{more}">and {len(tests) - MAX_LINKS} more</a>'
            items.append(
                f"<li>{badge(verdict, f'{len(tests)} {SHORT[verdict]}')} <b>{esc(where)}</b> "
                f'<span class="muted">{esc(" · ".join(said[:2]))}{" ..." if len(said) > 2 else ""}</span>'
                f"<br><small>{links}</small></li>"
            )
        n = sum(len(v) for v in by_section.values())
        out.append(
            f"<h2>{title} ({n} in {len(by_section)} spec section{'s' if len(by_section) != 1 else ''})</h2>"
            f'<ul id="{id_}" class="broke">{"".join(items)}</ul>'
        )
    return "\n".join(out)


def _contents(run: m.Run) -> str:
    c = run.counts()
    links = [
        ("failures", f"Failed checks ({c[FAIL] + c[WAIVED]})"),
        ("advisories", f"Advisories ({c[ADVISORY]})") if c[ADVISORY] else None,
        ("others", "Not run, not supported, inconclusive") if _other_tests(run) else None,
        ("device", "Device under test"),
        ("sections-block", "By spec section"),
        ("matrix-block", "Resource × method"),
        ("diff", "Changes since last run") if run.diff else None,
        ("latency-block", "Latency"),
        ("options-head", "Options"),
    ]
    return (
        '<nav id="contents">Contents: '
        + "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in filter(None, links))
        + "</nav>"
    )


def _block(id_: str, title: str, summary: str, body: str) -> str:
    """A long table folded under its title: open it to read it (no script needed)."""
    return (
        f'<details class="block" id="{id_}"><summary>{esc(title)} <span class="muted">— {esc(summary)}</span>'
        f"</summary>{body}</details>"
    )


def _sections_summary(run: m.Run) -> str:
    rows = run.by_section()
    bad = [s for s, c in rows if c.get(FAIL)]
    listed = ", ".join(bad[:8]) + (", ..." if len(bad) > 8 else "")
    return f"{len(rows)} sections, {len(bad)} with failures" + (f" ({listed})" if bad else "")


def _matrix_summary(run: m.Run) -> str:
    cells = run.matrix()
    bad = sum(1 for c in cells.values() if c.get(FAIL))
    return f"{len(cells)} resource-methods tested, {bad} with failures"


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
            f"<tr><td>{esc(titled(section))}</td>{counts_cells(counts)}<td class='num'>{pct(m.conformance(counts))}</td></tr>"
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
    anchors = _anchor(run)
    out = [f'<h2>Failed checks ({len(failed)})</h2><div id="failures">']
    # the first ones open; the rest one click away (a page of 200 open exchanges is read by nobody)
    out += [_failure(t, open_=i < OPEN_FAILURES, anchor=anchors[t.id]) for i, t in enumerate(failed)]
    out.append("</div>")
    if waived:
        out.append(f"<h2>Waived (known deviations, {len(waived)})</h2>")
        out += [_failure(t, open_=False, anchor=anchors[t.id]) for t in waived]
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
    anchors = _anchor(run)
    out += [_failure(t, open_=False, anchor=anchors[t.id]) for t in shown]
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
    anchors = _anchor(run)
    out += [_failure(t, open_=False, anchor=anchors[t.id]) for t in shown]
    out.append("</div>")
    return "\n".join(out)


def _failure(t: m.TestResult, *, open_: bool, anchor: str) -> str:
    ev = t.evidence or {}
    where = titled(_where(t), t.resource)
    head = f"{badge(t.verdict)} <b>{esc(t.id)}</b> <span class='muted'>spec {esc(where)}</span>"
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
    return f"<details id='{anchor}'{' open' if open_ else ''}><summary>{head}</summary>{''.join(body)}</details>"


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
    out = [f'<h2 id="diff">Changes since {esc(d.older)}</h2>']
    out += [f'<p class="basis"><strong>Baseline:</strong> {esc(d.basis)}</p>'] if d.basis else []
    out.append(f"<p>{esc(d.summary())}</p>")
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


def _other_tests(run: m.Run) -> list[m.TestResult]:
    return [t for t in run.tests if t.verdict in (NOT_SUPPORTED, INCONCLUSIVE, NOT_RUN) or t.flags]


def _others(run: m.Run) -> str:
    """Tests that gave no pass or fail, grouped by verdict and reason: why each did not run."""
    rows = _other_tests(run)
    if not rows:
        return ""
    groups: dict[tuple[str, str], list[m.TestResult]] = {}
    for t in rows:
        reason = t.reason.strip() or "no reason given"
        if t.flags:
            reason += " — " + ", ".join(t.flags)
        groups.setdefault((t.verdict, reason), []).append(t)
    order = sorted(groups, key=lambda k: (WORST_FIRST.index(k[0]), -len(groups[k])))
    body = []
    for verdict, reason in order:
        tests = groups[(verdict, reason)]
        names = "".join(
            f"<li>{esc(t.id)} <span class='muted'>{esc(titled(t.section or '?'))}</span></li>" for t in tests
        )
        body.append(
            f"<tr><td>{badge(verdict)}</td><td class='num'>{len(tests)}</td><td>{esc(reason)}"
            f"<details><summary>tests</summary><ul>{names}</ul></details></td></tr>"
        )
    return (
        f"<h2 id='others-head'>Not run, not supported, inconclusive and flagged ({len(rows)})</h2><table id='others'>"
        f"<tr><th>verdict</th><th>tests</th><th>reason</th></tr>{''.join(body)}</table>"
    )


def _options(run: m.Run) -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in run.options.items())
    return f'<table id="options">{body}</table>'


# -- declaration.html ----------------------------------------------------------------------------------


def declaration(run: m.Run) -> str:
    counts = run.counts()
    failing = [titled(x) for x in sorted({_where(t) for t in run.tests if t.verdict == FAIL}, key=m.section_key)]
    waived = [titled(x) for x in sorted({_where(t) for t in run.tests if t.verdict == WAIVED}, key=m.section_key)]
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
    elif not run.declares:
        statement = (
            f"was tested by a {run.profile} run, not a certification; this page is not a declaration of "
            "conformance (only --bview-profile certification issues one)"
        )
    heading = (
        "Partial run: no declaration of conformance"
        if run.partial
        else "Declaration of conformance"
        if run.declares
        else f"{run.profile.capitalize()} run: no declaration of conformance"
    )
    body = f"""
<h1>{heading}</h1>
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
    title = heading
    return page(f"{title} {run.model} {run.firmware}", body, extra)


# -- index.html ----------------------------------------------------------------------------------------


def index(runs: list[dict[str, Any]]) -> str:
    """Every run: which camera (model, firmware, serial), how (level, selection, full or partial), how it went."""
    rows = []
    for r in runs:
        c = r.get("counts", {})
        base = esc(r["path"])
        links = (
            f'<a href="{base}/{m.REPORT}">report</a> · <a href="{base}/{m.DECLARATION}">declaration</a> · '
            f'<a href="{base}/{m.RESULTS}">results.json</a> · <a href="{base}/{m.JUNIT}">junit.xml</a>'
        )
        verdict = worst(c) if c else NOT_RUN
        why = f"<br><small>{esc(r.get('scope'))}</small>" if r.get("partial") else ""
        rows.append(
            f"<tr><td>{esc(r['model'])}</td><td>{esc(r['firmware'])}</td><td>{esc(r.get('serial'))}</td>"
            f"<td>{esc(r['started'])}</td><td>{esc(r.get('level'))}</td>"
            f"<td class='{'partial' if r.get('partial') else ''}' title='{esc(r.get('scope', ''))}'>"
            f"{'partial' if r.get('partial') else 'full'}</td>"
            f"<td><code>{esc(r.get('selection'))}</code>{why}</td>"
            f"<td>{badge(verdict)}</td>"
            f"{counts_cells(c)}<td class='num'>{pct(r.get('conformance'))}</td>"
            f"<td class='num {'fail' if r.get('regressions') else ''}'>{r.get('regressions', 0)}</td><td>{links}</td></tr>"
        )
    head = (
        "<tr><th>model</th><th>firmware</th><th>serial</th><th>date (UTC)</th><th>level</th><th>scope</th>"
        f"<th>selection</th><th>verdict</th>{counts_head()}<th>conformance</th><th>regressions</th><th>files</th></tr>"
    )
    body = f'<h1>B-View 2 conformance runs</h1><p class="muted">{len(runs)} runs</p><table id="runs">{head}{"".join(rows)}</table>'
    return page("B-View 2 conformance runs", body)
