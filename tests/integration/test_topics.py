"""The topics Salespulse creates on a real broker, and the configuration each gets."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from salespulse.models.config import KafkaSettings, KafkaTopology
from salespulse.streams.topics import TopicNames, ensure_topics

pytestmark = pytest.mark.integration


def test_the_topics_people_publish_to_are_kept_400_days_the_others_as_the_broker_keeps(kafka) -> None:
    topology = KafkaTopology(app_id=f"t{uuid.uuid4().hex[:10]}")
    names = TopicNames(topology.app_id)
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)

    async def create_and_describe() -> tuple[list[str], dict[str, str]]:
        created = await ensure_topics(settings, topology)
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
        await admin.start()
        try:
            wanted = [names.reviews, names.mystery_checks, names.self_reports, names.activities]
            described = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in wanted])
        finally:
            await admin.close()
        retention = {}
        for response in described:
            for *_, topic, entries in response.resources:
                retention[topic] = next(value for name, value, *_ in entries if name == "retention.ms")
        return created, retention

    created, retention = asyncio.run(create_and_describe())
    assert set(created) >= {names.reviews, names.mystery_checks, names.self_reports, names.activities}
    day_ms = 86_400_000
    assert retention == {
        names.reviews: str(400 * day_ms),
        names.mystery_checks: str(400 * day_ms),
        names.self_reports: str(400 * day_ms),
        names.activities: str(7 * day_ms),  # the broker's default, log.retention.hours = 168
    }
