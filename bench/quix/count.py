"""The peer: Quix Streams counting activities per rep, action and quarter hour of event time.

    bench/quix/.venv/bin/python bench/quix/count.py --bootstrap 127.0.0.1:9092 --topic t --events N

State in its RocksDB store with a changelog topic, keyed by the record key (team|rep), as the
worker's action buckets are. Prints one JSON line with the rate, from the first event read to
the last. Runs in its own virtual environment (`requirements.txt` beside this file).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime

from quixstreams import Application, State


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--events", type=int, required=True)
    args = parser.parse_args()

    app = Application(
        broker_address=args.bootstrap,
        consumer_group=f"quix-peer-{time.time_ns()}",
        auto_offset_reset="earliest",
        state_dir=tempfile.mkdtemp(prefix="quix-peer-"),
        use_changelog_topics=True,
    )
    topic = app.topic(args.topic, key_deserializer="str", value_deserializer="json")
    progress = {"seen": 0, "start": 0.0}

    def count(value: dict, state: State) -> None:
        if not progress["start"]:
            progress["start"] = time.perf_counter()
        if value.get("type") == "activity":
            slot = int(datetime.fromisoformat(value["occurred_at"]).timestamp() // 900)
            bucket = f"{value['action']}|{slot}"
            state.set(bucket, state.get(bucket, 0) + 1)
        progress["seen"] += 1
        if progress["seen"] >= args.events:
            elapsed = time.perf_counter() - progress["start"]
            print(json.dumps({"events": progress["seen"], "per_s": progress["seen"] / elapsed}), flush=True)
            app.stop()

    app.dataframe(topic).update(count, stateful=True)
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
