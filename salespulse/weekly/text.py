"""The weekly review's cells and lines, and the review as Markdown.

The HTML page (`salespulse.weekly.page`) is built from the same cells, so both show the same
figures; it adds colour and a sparkline per action.
"""

from __future__ import annotations

from babel.numbers import format_currency

from salespulse.dashboards.common import TEAM_ROW_NAME
from salespulse.weekly.review import DealMoney, RepReview, WeekCell, WeeklyReview, arrow
from salespulse.weekly.team import TeamRow, behind_on, ranked, rep_attainment, team_rows, team_weeks

Table = tuple[list[str], list[list[str]]]


def num(value: int | None) -> str:
    """Return a count, or – when unknown."""
    return "–" if value is None else str(value)


def pct(value: float | None) -> str:
    """Return a share as a whole percentage, or – when unknown."""
    return "–" if value is None else f"{value:.0%}"


def money(amount: float | None, currency: str, locale: str = "en") -> str:
    """Return a whole amount with its currency's sign as `locale` writes it: "€ 12,400", "€ 12.400", or –."""
    if amount is None:
        return "–"
    # A space between sign and number in every locale: "US$ 9,800" and "SEK 9,800" read alike.
    return str(format_currency(amount, currency, format="¤ #,##0", locale=locale, currency_digits=False))


def signed(value: int | None) -> str:
    """Return a difference with its sign, or – when unknown."""
    return "–" if value is None else f"{value:+d}"


def change(this: int, previous: int | None) -> str:
    """Return the change from the week before with its arrow, e.g. "+3 ▲", or – when unknown."""
    return "–" if previous is None else f"{this - previous:+d} {arrow(this, previous)}"


def previous_head(review: WeeklyReview) -> str:
    """Return the column head of the week before."""
    return review.previous_week or "week before"


def action_table(review: WeeklyReview, rep: RepReview) -> Table:
    """Return the head and rows of a rep's actions in the week."""
    head = [
        "action", review.week, previous_head(review), "trend", "target", "attainment", "self-reported", "difference",
    ]
    body = [
        [row.action, str(row.this), num(row.previous), row.trend, num(row.target), pct(row.attainment),
         num(row.reported), signed(row.difference)]
        for row in rep.actions
    ]
    return head, body


def team_table(rows: list[TeamRow], review: WeeklyReview) -> Table:
    """Return the head and rows of the team's totals."""
    head = ["action", review.week, previous_head(review), "change", "target", "attainment"]
    body = [
        [row.action, str(row.this), num(row.previous), change(row.this, row.previous), num(row.target),
         pct(row.attainment)]
        for row in rows
    ]
    return head, body


def behind_text(review: WeeklyReview, rep: RepReview) -> str:
    """Return what the rep is behind on, furthest behind first, or – when on pace or target."""
    parts = []
    for b in behind_on(review, rep):
        due = f"{b.due:.1f} due by now" if review.current else f"{b.due:g}"
        parts.append(f"{b.action} {b.done} of {due} ({pct(b.ratio)})")
    return ", ".join(parts) or "–"


def ranking_table(review: WeeklyReview) -> Table:
    """Return the reps by attainment over their targeted actions, with what each is behind on."""
    head = ["rep", review.week, previous_head(review), "behind " + ("pace" if review.current else "target") + " on"]
    body = [
        [f"{rep.name} ({rep.rep})", pct(rep_attainment(rep)), pct(rep_attainment(rep, -2)),
         behind_text(review, rep)]
        for rep in ranked(review)
    ]
    return head, body


def trend_cell(cell: WeekCell) -> str:
    """Return a week's count with its attainment in brackets, e.g. "45 (90%)"."""
    if cell.count is None:
        return "–"
    return f"{cell.count} ({pct(cell.attainment)})" if cell.attainment is not None else str(cell.count)


def trend_table(review: WeeklyReview, weeks: dict[str, list[WeekCell]]) -> Table:
    """Return the head and rows of weekly counts, one column per week of the trend."""
    head = ["action", *(week[5:] for week in review.trend_weeks)]
    return head, [[action, *(trend_cell(cell) for cell in cells)] for action, cells in weeks.items()]


def trend_note(review: WeeklyReview) -> str:
    """Say which weeks the trends hold and where they come from."""
    if review.history_source is None:
        return (
            "Trends hold only the weeks /metrics holds (this week and last week): the worker holds no "
            "weekly totals of the team yet; give --prometheus-url to read older weeks from Prometheus."
        )
    first, last = review.trend_weeks[0], review.trend_weeks[-1]
    return (
        f"Weeks {first} to {last}: {' and '.join(review.metrics_weeks)} from /metrics, the weeks before from "
        f"{review.history_source}; in brackets the attainment against the targets in force in "
        "each week; – where nothing holds the week."
    )


def days(seconds: float | None) -> str:
    """Return a duration in days with one decimal, e.g. "12.3 days", or – when unknown."""
    return "–" if seconds is None else f"{seconds / 86400:.1f} days"


VELOCITY_HEAD = ["sales velocity", "win rate", "average won value", "sales cycle"]


def velocity_cells(figures: DealMoney | None) -> list[str]:
    """Return sales velocity per day, win rate, average won value and sales cycle; – where unknown."""
    if figures is None:
        return ["–"] * len(VELOCITY_HEAD)
    per_day = figures.velocity
    return [
        "–" if per_day is None else f"{money(per_day, figures.currency)} / day",
        pct(figures.win_rate),
        money(figures.won_value_avg, figures.currency),
        days(figures.cycle_seconds),
    ]


def velocity_table(review: WeeklyReview) -> Table:
    """Return each rep's deal velocity in money over the rolling 30 days, and the whole team's last."""
    body = [[f"{rep.name} ({rep.rep})", *velocity_cells(rep.money)] for rep in review.reps]
    return ["rep", *VELOCITY_HEAD], [*body, [TEAM_ROW_NAME, *velocity_cells(review.team_money)]]


def velocity_note(review: WeeklyReview) -> str:
    """Say what the deal velocity table holds, and up to when."""
    until = f"The 30 days up to {review.at:%Y-%m-%d %H:%M}" if review.at else "The rolling 30 days"
    return (
        f"{until}. Sales velocity: open deals × average won value × win rate ÷ sales cycle in days; "
        "sales cycle: first event to decision, over the deals won. The whole team's row is the team's "
        "own figure, not a sum of the reps'; – where nothing was decided, won, or won with an amount."
    )


def money_line(rep: RepReview) -> str:
    """Return the rep's deal velocity in money over the rolling 30 days."""
    cells = velocity_cells(rep.money)
    if set(cells) == {"–"}:
        return "Deal velocity (30 days): –"
    return "Deal velocity (30 days): " + ", ".join(f"{head} {cell}" for head, cell in zip(VELOCITY_HEAD, cells))


def velocity_line(rep: RepReview) -> str:
    """Return the rep's deals decided in the rolling 30 days."""
    parts = []
    for outcome, (count, seconds) in rep.decided.items():
        average = f", {seconds / count / 86400:.1f} days to decision on average" if count else ""
        parts.append(f"{count} {outcome}{average}")
    return "Deals decided (30 days): " + "; ".join(parts)


def quality_lines(review: WeeklyReview, rep: RepReview) -> list[str]:
    """Return the rep's velocity, checklist, review and mystery-check lines."""
    lines = [
        velocity_line(rep),
        money_line(rep),
        f"Checklist completeness (30 days): {pct(rep.completeness)} of {rep.stage_changes} stage changes"
        + (f"; missing: {', '.join(f'{item} ({kind}) ×{n}' for kind, item, n in rep.missing)}" if rep.missing else "")
    ]
    for subject, (count, averages) in rep.reviews.items():
        scores = ", ".join(f"{theme} {avg:.1f}" for theme, avg in averages.items()) or "no scores"
        lines.append(f"Review scores, {subject} (30 days, {count} reviews): {scores}")
    if rep.mystery:
        points, maximum, share = rep.mystery
        lines.append(f"Mystery check {review.month}: {points} of {maximum} points ({pct(share)})")
    else:
        lines.append(f"Mystery check {review.month}: not checked")
    return lines


def reward_line(review: WeeklyReview) -> str:
    """Return the team reward status of the week's month."""
    if review.reward is None:
        return f"Team reward {review.month}: no mystery checks yet"
    return f"Team reward {review.month}: {'earned' if review.reward else 'not earned (yet)'}"


def lessons(rep: RepReview) -> str:
    """Return the rep's lessons learned, or say why there are none."""
    if rep.lessons is None:
        return "(no self-report for the week)"
    return rep.lessons.strip() or "(a self-report without lessons learned)"


def _markdown_quote(text: str) -> str:
    # Every line stays inside the quote, and a rep's "<word>" is shown, not taken for an HTML tag.
    return "\n".join(f"> {line}".rstrip().replace("<", "\\<") for line in text.splitlines())


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "\\<")


def _markdown_table(table: Table) -> list[str]:
    head, body = table
    return [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(" --- " for _ in head) + "|",
        *("| " + " | ".join(row) + " |" for row in body),
    ]


def render_markdown(review: WeeklyReview) -> str:
    """Return the review as Markdown."""
    out = [f"# Weekly review: {review.team}, {review.week}", "", "## Team", "", reward_line(review), ""]
    out += _markdown_table(team_table(team_rows(review), review))
    out += ["", "### Reps by attainment", ""]
    head, body = ranking_table(review)
    out += _markdown_table((head, [[_markdown_cell(cell) for cell in row] for row in body]))
    out += ["", "### Lessons learned", ""]
    out += [f"- {_markdown_cell(rep.name)}: {_markdown_cell(' '.join(lessons(rep).split()))}" for rep in review.reps]
    out += ["", "### Trends", "", trend_note(review), ""]
    out += _markdown_table(trend_table(review, team_weeks(review)))
    out += ["", "### Deal velocity (30 days)", "", velocity_note(review), ""]
    head, body = velocity_table(review)
    out += _markdown_table((head, [[_markdown_cell(cell) for cell in row] for row in body]))
    out.append("")
    for rep in review.reps:
        out += [f"## {rep.name} ({rep.rep})", ""]
        out += _markdown_table(action_table(review, rep))
        out += ["", "Weeks:", ""]
        out += _markdown_table(trend_table(review, rep.weeks))
        out.append("")
        out += [f"- {line}" for line in quality_lines(review, rep)]
        out += ["", "Lessons learned:", "", _markdown_quote(lessons(rep)), ""]
    return "\n".join(out)
