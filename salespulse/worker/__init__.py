"""The worker process: the composition root that builds the engine, the families and the exporter
(`pipeline`), and what the process needs around them (`allocator`, `repeated_logs`)."""
