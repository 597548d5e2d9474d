"""Topic names and the one place that creates them.

Producers write to the two ingest topics with any key; the worker validates each event and
re-keys it onto an internal topic, so that a rep's (or a deal's) events always meet the same
table partition whatever key the producer chose.
"""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from models.config import KafkaSettings, KafkaTopology
from models.events import ActivityEvent, DealStageEvent

ACTIVITIES = "salespulse-activities"
DEAL_STAGES = "salespulse-deal-stages"
DEAD_LETTER = "salespulse-dead-letter"
ACTIVITIES_BY_REP = "salespulse-activities-by-rep"
DEAL_STAGES_BY_DEAL = "salespulse-deal-stages-by-deal"
ALL_TOPICS = (ACTIVITIES, DEAL_STAGES, DEAD_LETTER, ACTIVITIES_BY_REP, DEAL_STAGES_BY_DEAL)


def event_key(event: ActivityEvent | DealStageEvent) -> str:
    """Return the record key: a rep's activities, or a deal's stages, share a partition."""
    if isinstance(event, ActivityEvent):
        return f"{event.team_id}|{event.rep_id}"
    return event.deal_id


def ingest_topic(event: ActivityEvent | DealStageEvent) -> str:
    """Return the producer-facing topic an event belongs to."""
    return ACTIVITIES if isinstance(event, ActivityEvent) else DEAL_STAGES


def kafka_client_options(kafka: KafkaSettings) -> dict[str, object]:
    """Return aiokafka keyword arguments for the connection settings."""
    options: dict[str, object] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "security_protocol": kafka.security_protocol,
    }
    if kafka.sasl_mechanism:
        options["sasl_mechanism"] = kafka.sasl_mechanism
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = (
            kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
        )
    return options


async def ensure_topics(kafka: KafkaSettings, topology: KafkaTopology) -> list[str]:
    """Create any missing Salespulse topic; return the names created."""
    admin = AIOKafkaAdminClient(**kafka_client_options(kafka))  # type: ignore[arg-type]
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in ALL_TOPICS if name not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [
                        NewTopic(name, topology.partitions, topology.replication_factor)
                        for name in missing
                    ]
                )
            except TopicAlreadyExistsError:
                pass  # another worker or publisher won the race; the topic is there
        return missing
    finally:
        await admin.close()
