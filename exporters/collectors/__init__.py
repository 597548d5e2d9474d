"""The exporter's collectors, one per concern, each reading the worker's state and changing none.

    actions    ActionCollector     salespulse_actions, _actions_total, _rep_info
    pacing     PacingCollector     targets, expected by now, pace, shortfall, missed weeks, working time
    deals      VelocityCollector   deals decided and time to decision
               ChecklistCollector  stage changes by checklist completeness, items missed
    quality    ReviewCollector     review counts and theme scores
               MysteryCollector    mystery-check points, shares, the team reward
               SelfReportCollector self-reports filed and their figures
    counters   CounterCollector    events rejected and duplicated, consumer lag

`exporters.collector.PipelineCollector` runs them in that order on one `Scrape` (the reps this
worker answers for and their action windows, worked out once) and cuts each family to the
series cap.
"""
