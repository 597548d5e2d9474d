"""The engine room: everything that leans on Faust's or aiokafka's internals, and nothing else.

The KPI families (`salespulse.streams.*`) fold events into tables; this package is how their
records get read, folded in order, written back exactly once and recovered, on faust-streaming
0.15. Each module here names the Faust or aiokafka behaviour it relies on, and
`tests/unit/streams/engine/` pins those behaviours, so that an upgrade of Faust fails there first.

    inbox        an agent's records, from Faust's fetcher, taken in batches
    in_order     a partition folded in offset order, committed no further than folded
    delivery     the hand-over of fetched records to the agents' inboxes
    tables       in-memory tables whose changelog records carry the input offsets they reflect
    writes       a batch's changelog records and forwards, sent as producer batches under one lock
    recovery     tables read back from their changelogs at start and rebalance
    local_copy   the changelogs' local copy on disk, so a restart reads only what is new
    settled      /metrics answered only from memory that is all in Kafka
    frozen_state the recovered tables moved out of the garbage collector's way
    lag          consumer lag, read from the consumer's own positions
"""

from salespulse.streams.engine.core import Engine

__all__ = ["Engine"]
