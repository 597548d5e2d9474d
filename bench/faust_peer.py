"""Faust agents that do (almost) nothing, to see what the stream engine itself costs.

    python bench/faust_peer.py --bootstrap 127.0.0.1:9092 --topics a,b --events 20000 --mode each

Modes: `each` iterates the stream one event at a time and does nothing; `take` takes batches of
up to 2,000 with `take_events` and does nothing; `table` writes one table key per event, as a
plain Faust table write (one changelog record each). Prints one JSON line with the rate, from
the first event read to the last.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time

import faust


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topics", required=True, help="comma-separated topics to read")
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--mode", choices=("each", "take", "table"), default="each")
    parser.add_argument("--partitions", type=int, default=4, help="partitions of the topics, for the changelog")
    args = parser.parse_args()

    app = faust.App(
        f"faust-peer-{args.mode}-{time.time_ns()}",
        broker=f"kafka://{args.bootstrap}",
        store="memory://",
        web_enabled=False,
        datadir=tempfile.mkdtemp(prefix="faust-peer-"),
        autodiscover=False,
        consumer_auto_offset_reset="earliest",
        topic_partitions=args.partitions,
        **({"stream_buffer_maxsize": 32_768, "consumer_max_fetch_size": 8 * 1024**2} if os.environ.get("PEER_TUNED") else {}),
    )
    topic = app.topic(*args.topics.split(","), value_type=bytes, value_serializer="raw")
    counts = app.Table("peer_counts", default=int)
    state = {"seen": 0, "start": 0.0}

    def tick(n: int) -> None:
        if not state["start"]:
            state["start"] = time.perf_counter()
        state["seen"] += n
        if state["seen"] >= args.events:
            elapsed = time.perf_counter() - state["start"]
            line = json.dumps({"mode": args.mode, "events": state["seen"], "per_s": state["seen"] / elapsed})
            os.write(1, (line + "\n").encode())  # the worker redirects sys.stdout to its logger
            os._exit(0)

    @app.agent(topic)
    async def read(stream: faust.StreamT[bytes]) -> None:
        if args.mode == "take":
            async for events in stream.take_events(2_000, 0.05):  # type: ignore[attr-defined]
                tick(len(events))
        else:
            async for event in stream.events():
                if args.mode == "table":
                    key = (event.key or b"").decode()
                    counts[key] += 1
                tick(1)

    worker = faust.Worker(app, loglevel="error", quiet=True)
    logging.getLogger().setLevel(logging.ERROR)
    worker.execute_from_commandline()
    return 0


if __name__ == "__main__":
    sys.exit(main())
