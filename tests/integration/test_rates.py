"""Exchange rates on a real broker: `rates apply` and `rates show`, and a follower seeing a change."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from aiokafka import ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from salespulse.kafka.launcher import LocalKafka
from salespulse.models.config import KafkaSettings
from salespulse.streams.rates import RateFollower
from salespulse.streams.topics import TopicNames, read_compacted
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

RATES = """\
rates:
  - {currency: USD, to: EUR, rate: 0.86, effective_from: 2026-01-01}
  - {currency: USD, to: EUR, rate: 0.89, effective_from: 2026-07-01}
  - {currency: GBP, to: EUR, rate: 1.15, effective_from: 2026-01-01}
"""


async def _topic_config(bootstrap: str, topic: str) -> tuple[int, str]:
    """Return the topic's partition count and cleanup policy."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    ((*_, entries),) = response.resources
    return len(described["partitions"]), next(value for name, value, *_ in entries if name == "cleanup.policy")


def test_rates_apply_show_and_a_following_worker_sees_a_changed_rate(
    make_pipeline: Callable[[dict], Pipeline], kafka: LocalKafka, tmp_path: Path
) -> None:
    pipeline = make_pipeline({})
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    topic = TopicNames(pipeline.app_id).rates
    path = tmp_path / "rates.yaml"
    path.write_text(RATES)

    empty = pipeline.cli("rates", "show")
    assert (empty.returncode, empty.stdout) == (0, "no rates have been applied\n"), empty.stderr
    assert asyncio.run(_topic_config(kafka.bootstrap, topic)) == (1, "compact")

    first = pipeline.cli("rates", "apply", str(path))
    assert first.returncode == 0, first.stderr
    assert first.stdout == (
        f"{path}: 3 rates valid; published 3 changed, 0 unchanged\n"
        "  USD to EUR from 2026-01-01: 0.86, new\n"
        "  USD to EUR from 2026-07-01: 0.89, new\n"
        "  GBP to EUR from 2026-01-01: 1.15, new\n"
    )
    shown = pipeline.cli("rates", "show", "--on", "2026-08-01")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == (
        "rates in force on 2026-08-01:\n"
        "  GBP to EUR: 1.15 (from 2026-01-01)\n"
        "  USD to EUR: 0.89 (from 2026-07-01)\n"
    )
    assert pipeline.cli("rates", "show", "--on", "2026-06-30").stdout.splitlines()[2] == "  USD to EUR: 0.86 (from 2026-01-01)"

    async def change_while_following() -> tuple[str, float | None, list[ConsumerRecord]]:
        follower = RateFollower()
        stop = asyncio.Event()
        following = asyncio.create_task(follower.follow(settings, topic, stop))
        try:
            await asyncio.wait_for(follower.caught_up.wait(), timeout=30)
            assert follower.book.rate("USD", "EUR", date(2026, 8, 1)) == 0.89
            path.write_text(RATES.replace("rate: 0.89", "rate: 0.9"))
            changed = await asyncio.to_thread(pipeline.cli, "rates", "apply", str(path))
            assert changed.returncode == 0, changed.stderr
            deadline = time.monotonic() + 30
            while follower.book.rate("USD", "EUR", date(2026, 8, 1)) != 0.9 and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            converted = follower.book.convert(1000, "USD", "EUR", date(2026, 8, 1))
        finally:
            stop.set()
            await asyncio.wait_for(following, timeout=10)
        records: list[ConsumerRecord] = []
        await read_compacted(settings, topic, records.append)
        return changed.stdout, converted, records

    stdout, converted, records = asyncio.run(change_while_following())
    assert stdout == f"{path}: 3 rates valid; published 1 changed, 2 unchanged\n  USD to EUR from 2026-07-01: 0.9, was 0.89\n"
    # 1000 USD on 1 August 2026, at the rate from 1 July now 0.9: 900 EUR.
    assert converted == pytest.approx(900.0)
    # The first apply's three records, then only the changed rate.
    assert [(r.offset, r.key) for r in records] == [
        (0, b"USD|EUR|2026-01-01"),
        (1, b"USD|EUR|2026-07-01"),
        (2, b"GBP|EUR|2026-01-01"),
        (3, b"USD|EUR|2026-07-01"),
    ]
    assert records[3].value == b'{"currency":"USD","to":"EUR","rate":0.9,"effective_from":"2026-07-01"}'

    # The GBP rate leaves the file: it stays in force until `--prune` withdraws it with a tombstone.
    path.write_text(RATES.replace("rate: 0.89", "rate: 0.9").replace("  - {currency: GBP, to: EUR, rate: 1.15, effective_from: 2026-01-01}\n", ""))
    kept = pipeline.cli("rates", "apply", str(path))
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.splitlines()[1] == (
        "  1 applied rates are not in the file and stay in force (GBP|EUR|2026-01-01); --prune withdraws them"
    )
    pruned = pipeline.cli("rates", "apply", "--prune", str(path))
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout == (
        f"{path}: 2 rates valid; published 0 changed, 2 unchanged; withdrew 1 not in the file\n"
        "  GBP to EUR from 2026-01-01: withdrawn (was 1.15)\n"
    )
    assert pipeline.cli("rates", "show", "--on", "2026-08-01").stdout == (
        "rates in force on 2026-08-01:\n  USD to EUR: 0.9 (from 2026-07-01)\n"
    )
    after: list[ConsumerRecord] = []
    asyncio.run(read_compacted(settings, topic, after.append))
    assert [(r.offset, r.key, r.value) for r in after[4:]] == [(4, b"GBP|EUR|2026-01-01", None)]
