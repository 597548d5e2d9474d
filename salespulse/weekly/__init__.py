"""The weekly review of a team: what `salespulse report weekly` writes and `/weekly/<team>/<week>` shows.

    review    gather_review(): the figures of this week and last (the workers' /metrics), the
              weeks before (history), the targets in force and the lessons learned; build_review()
    history   weeks gone by: the worker's weekly totals, then Prometheus
    team      the team's part: totals, the reps by attainment, the lessons in one list
    text      the review as Markdown
    page      the review as one self-contained HTML page
"""
