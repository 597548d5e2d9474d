"""The weekly review as one self-contained HTML page: no script, no external asset, printable on A4.

It shows the cells of `salespulse.weekly.text` (the Markdown's figures) and adds two things: each
attainment and pace is coloured with the wallboard's bounds and colours
(`salespulse.dashboards.common`), and each action has an inline SVG sparkline of its weekly
counts with the target in force in each week as a dashed line.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from salespulse.dashboards.common import AMBER, GREEN, PACE_AMBER_FROM, PACE_GREEN_FROM, RED
from salespulse.weekly.text import (
    Table,
    action_table,
    lessons,
    quality_lines,
    ranking_table,
    reward_line,
    team_table,
    trend_cell,
    trend_note,
    trend_table,
    velocity_note,
    velocity_table,
)
from salespulse.weekly.review import RepReview, WeekCell, WeeklyReview
from salespulse.weekly.team import behind_on, ranked, rep_attainment, team_rows, team_weeks

# The wallboard names some colours the Grafana way; these are the hex values Grafana draws them in.
GRAFANA_COLOURS = {"red": "#F2495C", "green": "#73BF69", "orange": "#FF9830", "yellow": "#FADE2A"}
SPARK_W, SPARK_H, SPARK_PAD = 120, 26, 3


def css_colour(colour: str) -> str:
    """Return a CSS colour for a wallboard colour: a Grafana name or a hex value."""
    return GRAFANA_COLOURS.get(colour, colour)


def level(ratio: float | None) -> str:
    """Return the CSS class of an attainment or pace ratio: red, amber, green, or "" when unknown."""
    if ratio is None:
        return ""
    return "green" if ratio >= PACE_GREEN_FROM else "amber" if ratio >= PACE_AMBER_FROM else "red"


STYLE = f"""
:root {{ --red: {css_colour(RED)}; --amber: {css_colour(AMBER)}; --green: {css_colour(GREEN)}; }}
* {{ box-sizing: border-box; }}
body {{ font: 14px/1.4 "DejaVu Sans", Arial, sans-serif; color: #1f2328; margin: 24px auto; padding: 0 24px;
  max-width: 1200px; -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
h1 {{ font-size: 22px; margin: 0 0 4px; }}
h2 {{ font-size: 18px; margin: 24px 0 6px; border-bottom: 2px solid #d0d7de; padding-bottom: 2px; }}
h3 {{ font-size: 15px; margin: 14px 0 4px; }}
p, ul {{ margin: 4px 0 8px; }}
.columns {{ display: flex; flex-wrap: wrap; gap: 8px 28px; align-items: flex-start; }}
.columns > div {{ flex: 0 1 auto; max-width: 100%; }}
table {{ border-collapse: collapse; margin: 4px 0 10px; }}
th, td {{ border: 1px solid #d0d7de; padding: 2px 6px; text-align: right; white-space: nowrap; }}
th {{ background: #f2f4f7; font-weight: 600; }}
th:first-child, td:first-child {{ text-align: left; }}
td.text {{ text-align: left; white-space: normal; min-width: 14em; }}
td.red {{ background: var(--red); }} td.amber {{ background: var(--amber); }} td.green {{ background: var(--green); }}
td.spark {{ padding: 1px 4px; }}
td.team {{ font-weight: 600; }}
svg {{ display: block; }}
.note {{ color: #57606a; font-size: 12px; }}
.lessons li {{ margin-bottom: 2px; }}
.rep {{ break-inside: avoid; page-break-inside: avoid; }}
blockquote {{ color: #424a53; border-left: 4px solid #d0d7de; margin: 4px 0 8px; padding-left: 10px; }}
@page {{ size: A4; margin: 12mm; }}
@media print {{
  body {{ margin: 0; padding: 0; max-width: none; }}
}}
/* A4 paper and narrow windows: smaller type, each week's attainment under its count. */
@media print, (max-width: 820px) {{
  body {{ font-size: 9pt; }}
  h1 {{ font-size: 15pt; }} h2 {{ font-size: 12pt; }} h3 {{ font-size: 10pt; }}
  th, td {{ padding: 1px 3px; }}
  .columns {{ gap: 0 14px; }}
  .share {{ display: block; font-size: 7.5pt; }}
}}
"""


def sparkline(cells: Sequence[WeekCell]) -> str:
    """Return an inline SVG of the weekly counts, the targets dashed, the last week's dot coloured."""
    top = max([c.count for c in cells if c.count is not None] + [c.target for c in cells if c.target] + [1])
    step = (SPARK_W - 2 * SPARK_PAD) / max(len(cells) - 1, 1)

    def point(index: int, value: int) -> str:
        y = SPARK_H - SPARK_PAD - (SPARK_H - 2 * SPARK_PAD) * value / top
        return f"{SPARK_PAD + index * step:.1f},{y:.1f}"

    def lines(values: list[int | None], style: str) -> list[str]:
        # One polyline per run of known weeks: a week Prometheus has nothing of is a gap.
        runs: list[list[str]] = [[]]
        for index, value in enumerate(values):
            if value is None:
                runs.append([])
            else:
                runs[-1].append(point(index, value))
        return [f'<polyline points="{" ".join(run)}" {style}/>' for run in runs if len(run) > 1]

    title = ", ".join(f"{c.week}: {trend_cell(c)}" for c in cells)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SPARK_W}" height="{SPARK_H}" '
        f'viewBox="0 0 {SPARK_W} {SPARK_H}" role="img"><title>{html.escape(title)}</title>'
    ]
    parts += lines([c.target for c in cells], 'fill="none" stroke="#8c959f" stroke-width="1" stroke-dasharray="3 2"')
    parts += lines([c.count for c in cells], 'fill="none" stroke="#1f2328" stroke-width="1.5"')
    last = cells[-1] if cells else None
    if last is not None and last.count is not None:
        x, y = point(len(cells) - 1, last.count).split(",")
        fill = f"var(--{level(last.attainment)})" if level(last.attainment) else "#1f2328"
        parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{fill}" stroke="#1f2328" stroke-width="0.5"/>')
    parts.append("</svg>")
    return "".join(parts)


def _table(table: Table, classes: Sequence[Sequence[str]] | None = None) -> str:
    """Return a table; `classes` gives each cell's CSS class."""
    head, body = table
    e = html.escape
    out = ["<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>"]
    for index, row in enumerate(body):
        cells = []
        for column, cell in enumerate(row):
            css = classes[index][column] if classes else ""
            cells.append(f'<td class="{css}">{e(cell)}</td>' if css else f"<td>{e(cell)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _attainment_classes(table: Table, ratios: Sequence[float | None], column: int) -> list[list[str]]:
    _, body = table
    return [[level(ratios[i]) if c == column else "" for c in range(len(row))] for i, row in enumerate(body)]


def _week_cell(cell: WeekCell, text: str) -> str:
    # "45 (90%)": the attainment in a span of its own, that a narrow page puts under the count.
    count, _, share = html.escape(text).partition(" ")
    css = f' class="{level(cell.attainment)}"' if level(cell.attainment) else ""
    return f"<td{css}>{count}" + (f'<span class="share"> {share}</span>' if share else "") + "</td>"


def _trend_table(review: WeeklyReview, weeks: dict[str, list[WeekCell]]) -> str:
    head, body = trend_table(review, weeks)
    e = html.escape
    out = ["<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "<th>weeks</th></tr>"]
    for row, cells in zip(body, weeks.values()):
        out.append(
            f"<tr><td>{e(row[0])}</td>" + "".join(_week_cell(c, text) for c, text in zip(cells, row[1:]))
            + f'<td class="spark">{sparkline(cells)}</td></tr>'
        )
    out.append("</table>")
    return "".join(out)


def _rep_section(review: WeeklyReview, rep: RepReview) -> str:
    e = html.escape
    table = action_table(review, rep)
    actions = _table(table, _attainment_classes(table, [row.attainment for row in rep.actions], 5))
    return (
        f'<section class="rep"><h2>{e(rep.name)} ({e(rep.rep)})</h2><div class="columns">'
        f"<div>{actions}</div><div><h3>Weeks</h3>{_trend_table(review, rep.weeks)}</div></div>"
        + "<ul>" + "".join(f"<li>{e(line)}</li>" for line in quality_lines(review, rep)) + "</ul>"
        + f"<p>Lessons learned:</p><blockquote>{e(lessons(rep)).replace(chr(10), '<br>')}</blockquote></section>"
    )


def render_html(review: WeeklyReview) -> str:
    """Return the review as a standalone HTML page."""
    e = html.escape
    rows = team_rows(review)
    team = team_table(rows, review)
    ranking = ranking_table(review)
    velocity = velocity_table(review)
    ranking_classes = [
        ["", level(rep_attainment(rep)), level(rep_attainment(rep, -2)),
         "text" if behind_on(review, rep) else ""]
        for rep in ranked(review)
    ]
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Weekly review: {e(review.team)}, {e(review.week)}</title>",
        f"<style>{STYLE}</style>",
        "</head><body>",
        f"<h1>Weekly review: {e(review.team)}, {e(review.week)}</h1>",
        f"<p>{e(reward_line(review))}</p>",
        '<section><h2>Team</h2><div class="columns">',
        f"<div>{_table(team, _attainment_classes(team, [r.attainment for r in rows], 5))}</div>",
        f"<div><h3>Reps by attainment</h3>{_table(ranking, ranking_classes)}</div></div>",
        '<h3>Lessons learned</h3><ul class="lessons">'
        + "".join(f"<li><b>{e(rep.name)}</b>: {e(' '.join(lessons(rep).split()))}</li>" for rep in review.reps)
        + "</ul>",
        f'<h3>Trends</h3><p class="note">{e(trend_note(review))}</p>',
        _trend_table(review, team_weeks(review)),
        f'<h3>Deal velocity (30 days)</h3><p class="note">{e(velocity_note(review))}</p>',
        _table(velocity, [[""] * len(row) for row in velocity[1][:-1]] + [["team"] * len(velocity[1][-1])]),
        "</section>",
    ]
    out += [_rep_section(review, rep) for rep in review.reps]
    out.append("</body></html>")
    return "\n".join(out) + "\n"
