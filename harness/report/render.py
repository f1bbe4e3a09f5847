"""The leaderboard as people read it: formatted numbers, one section per task, Markdown and standalone HTML.

Both pages carry the same title, summary lines, sections and notes; the HTML page
has inline CSS only, so it opens anywhere without its folder. A missing statistic
(null or NaN) shows as "—", a standard error over a single seed as "n/a", and a
failed trial by the first line of its error.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import polars as pl

from crystalbench.harness.report.aggregate import TOP_DECIMALS


def _is_num(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def _fmt(x, decimals: int = 3) -> str:
    if not _is_num(x):
        return "—"
    ax = abs(x)
    if ax >= 1e5 or (0 < ax < 10 ** -decimals):
        return f"{x:.{decimals}e}"
    return f"{x:.{decimals}f}"


def _fmt_mean_se(mean, se, n: int) -> str:
    if not _is_num(mean):
        return "—"
    if n < 2 or not _is_num(se):
        return f"{_fmt(mean)} ± n/a"
    return f"{_fmt(mean)} ± {_fmt(se)}"


def _fmt_top(values) -> str:
    if not values:
        return "—"
    for decimals in range(3, TOP_DECIMALS + 1):  # enough digits to tell the values apart
        shown = [_fmt(v, decimals) for v in values]
        if len(set(shown)) == len(shown):
            break
    return ", ".join(shown)


def _fmt_pct(x) -> str:
    return f"{100 * x:.1f}%" if _is_num(x) else "—"


def _fmt_pct_se(mean, se, n: int) -> str:
    if not _is_num(mean):
        return "—"
    return f"{100 * mean:+.1f}%" + (f" ± {100 * se:.1f}" if n >= 2 and _is_num(se) else "")


def _fmt_seconds(x) -> str:
    return f"{x:.3g} s" if _is_num(x) else "—"


_DISPLAY_COLUMNS = [
    "problem",
    "method",
    "rank",
    "seeds (failed)",
    "final best (mean ± s.e.)",
    "initial best",
    "top-3 found",
    "beat initial",
    "improvement (rel.)",
    "valid",
    "struct. valid",
    "comp. valid",
    "both",
    "calls/trial",
    "wall/trial",
    "method s/call",
    "oracle s/call",
]


def _display_row(r: dict) -> list[str]:
    n = r["n_seeds"]
    beat = "—"
    if n and _is_num(r["frac_beat_initial"]):
        beat = f"{round(r['frac_beat_initial'] * n)}/{n}"
    return [
        r["problem"],
        r["method"],
        str(r["rank"]) if r["rank"] is not None else "—",
        f"{n} ({r['n_failed']})" if r["n_failed"] else str(n),
        _fmt_mean_se(r["final_best_mean"], r["final_best_se"], n),
        _fmt(r["initial_best"]),
        _fmt_top(r["top3"]),
        beat,
        _fmt_pct_se(r["rel_improvement_mean"], r["rel_improvement_se"], n),
        _fmt_pct(r["validity_rate"]),
        _fmt_pct(r["structural_validity_rate"]),
        _fmt_pct(r["compositional_validity_rate"]),
        _fmt_pct(r["both_validity_rate"]),
        f"{r['calls_per_trial']:.0f}" if _is_num(r["calls_per_trial"]) else "—",
        _fmt_seconds(r["wall_time_s_per_trial"]),
        _fmt_seconds(r["method_time_s_per_call"]),
        _fmt_seconds(r["oracle_time_s_per_call"]),
    ]


def _first_line(text: str | None) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return "(no error message)"


@dataclass
class _Section:
    task: str
    direction: str
    rows: list[list[str]]
    failed: list[tuple[str, str]]  # (label, first line of error)


def _sections(board: pl.DataFrame, res: pl.DataFrame) -> list[_Section]:
    failed = res.filter(pl.col("status") != "complete").sort("task", "problem", "method", "seed")
    sections = []
    for task in sorted(set(board["task"].to_list())):
        rows = board.filter(pl.col("task") == task)
        directions = sorted(set(rows["direction"].to_list()))
        f = failed.filter(pl.col("task") == task)
        sections.append(
            _Section(
                task=task,
                direction="/".join(directions),
                rows=[_display_row(r) for r in rows.iter_rows(named=True)],
                failed=[
                    (
                        f"{r['cell_id']} ({r['method']}, {r['problem']}, seed {r['seed']}, {r['status']})",
                        _first_line(r["error"]),
                    )
                    for r in f.iter_rows(named=True)
                ],
            )
        )
    return sections


_DIRECTION_WORD = {"min": "minimise", "max": "maximise"}

_NOTES = [
    "Statistics are over complete trials only; failed trials are counted and listed, not averaged.",
    "s.e. = sample standard deviation / sqrt(n) over seeds; n/a for a single seed.",
    "Top-3 = the best three distinct values (rounded to 1e-6) over all seeds' valid proposals.",
    "Beat initial = seeds whose final best is strictly better than their initial labelled best.",
    "Improvement (rel.) = (initial − final best) / |initial| per seed, positive when better; mean ± s.e.",
    "valid (CIF round trip, the papers' validity) / struct. valid (no atoms closer than 0.5 Å, ≥ 0.1 Å³ per atom) / "
    "comp. valid (SMACT charge neutrality and electronegativity; metals and alloys valid) / both = fractions of "
    "oracle calls; times are means per trial or per oracle call.",
]


def _md_cell(text: str) -> str:
    text = html.escape(text, quote=False).replace("|", "\\|")
    return " ".join(text.split())


def _markdown(title: str, summary: list[str], sections: list[_Section]) -> str:
    out = [f"# {_md_cell(title)}", ""]
    out += [_md_cell(s) + "  " for s in summary]
    out.append("")
    for s in sections:
        out += [f"## Task {_md_cell(s.task)} ({_DIRECTION_WORD.get(s.direction, s.direction)})", ""]
        out.append("| " + " | ".join(_DISPLAY_COLUMNS) + " |")
        out.append("|" + "|".join(["---"] * 2 + ["--:"] * (len(_DISPLAY_COLUMNS) - 2)) + "|")
        for row in s.rows:
            out.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
        out.append("")
        if s.failed:
            out += ["Failed trials:", ""]
            out += [f"- {_md_cell(label)}: {_md_cell(err)}" for label, err in s.failed]
            out.append("")
    out += ["## Notes", ""] + [f"- {n}" for n in _NOTES] + [""]
    return "\n".join(out)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafafa; }
.failed li { color: #a00; }
.summary { color: #555; }
"""


def _html(title: str, summary: list[str], sections: list[_Section]) -> str:
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(title)}</h1>",
        '<p class="summary">' + "<br>".join(e(s) for s in summary) + "</p>",
    ]
    for s in sections:
        out.append(f"<h2>Task {e(s.task)} ({e(_DIRECTION_WORD.get(s.direction, s.direction))})</h2>")
        out.append("<table>")
        out.append("<thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in _DISPLAY_COLUMNS) + "</tr></thead>")
        out.append("<tbody>")
        for row in s.rows:
            cells = [f"<td>{e(c)}</td>" if i < 2 else f'<td class="num">{e(c)}</td>' for i, c in enumerate(row)]
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</tbody>")
        out.append("</table>")
        if s.failed:
            out.append("<p>Failed trials:</p>")
            out.append('<ul class="failed">')
            out += [f"<li><code>{e(label)}</code>: {e(err)}</li>" for label, err in s.failed]
            out.append("</ul>")
    out.append("<h2>Notes</h2>")
    out.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in _NOTES) + "</ul>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)
