"""The KPI families: each a module that declares its topics, tables, decode, fold and exports
through the one base (`salespulse.streams.family`), and reads as the maths it applies
(`salespulse.streams.kpi`). The route table (`salespulse.models.routes`) names which family folds
each event type; the composition root (`salespulse.worker.pipeline`) builds them.
"""
