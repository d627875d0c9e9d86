"""Looking at the event bus from outside: stream overview and a decoded tail."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import nats
import nats.aio.client
from google.protobuf import json_format
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy
from rich.console import Console

from cadre.chassis.events import MalformedEvent, parse_envelope, unpack_payload


@dataclass(frozen=True)
class StreamOverview:
    name: str
    messages: int
    bytes: int
    consumers: list[tuple[str, int, int]]


async def _connect(nats_url: str) -> nats.aio.client.Client:
    """One attempt, a few seconds at most: an operator's command must not hang on a dead broker."""
    return await asyncio.wait_for(
        nats.connect(nats_url, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=0), timeout=5
    )


async def stream_overview(nats_url: str) -> list[StreamOverview]:
    connection = await _connect(nats_url)
    try:
        js = connection.jetstream()
        result = []
        for info in await js.streams_info():
            name = info.config.name
            if not name or not name.startswith("CADRE_"):
                continue
            consumers = [
                (c.name, c.num_pending or 0, c.num_ack_pending or 0) for c in await js.consumers_info(name)
            ]
            result.append(StreamOverview(name, info.state.messages, info.state.bytes, consumers))
        return result
    finally:
        await connection.close()


def describe(data: bytes) -> dict[str, object]:
    """One event as a plain dict: envelope fields and the decoded payload."""
    try:
        envelope = parse_envelope(data)
        payload = json_format.MessageToDict(unpack_payload(envelope))
    except MalformedEvent as error:
        return {"malformed": str(error), "bytes": len(data)}
    return {
        "id": envelope.id,
        "type": envelope.type,
        "subject": envelope.subject,
        "occurred_at": envelope.occurred_at.ToJsonString(),
        "payload": payload,
    }


def _filter_within(stream_subjects: list[str], wanted: str) -> str | None:
    """The part of `wanted` a stream holds: `cadre.>` on `cadre.roster.v1.>` is the latter."""
    for held in stream_subjects:
        if wanted == ">" or (wanted.endswith(">") and held.startswith(wanted[:-1])):
            return held
        if held.endswith(">") and wanted.startswith(held[:-1]):
            return wanted
    return None


async def tail(nats_url: str, subject: str, *, from_start: bool, limit: int, out: Console) -> None:
    connection = await _connect(nats_url)
    js = connection.jetstream()
    seen = 0
    done = asyncio.Event()

    async def show(message: Msg) -> None:
        nonlocal seen
        if limit and seen >= limit:
            return
        event = describe(message.data)
        out.print_json(json.dumps(event)) if out.is_terminal else print(json.dumps(event), flush=True)
        seen += 1
        if limit and seen >= limit:
            done.set()

    policy = DeliverPolicy.ALL if from_start else DeliverPolicy.NEW
    subscriptions = []
    for info in await js.streams_info():
        name = info.config.name or ""
        stream_filter = _filter_within(info.config.subjects or [], subject)
        if name.startswith("CADRE_") and stream_filter:
            subscriptions.append(
                await js.subscribe(
                    stream_filter,
                    cb=show,
                    stream=name,
                    ordered_consumer=True,
                    config=ConsumerConfig(deliver_policy=policy),
                )
            )
    try:
        await done.wait()
    finally:
        for subscription in subscriptions:
            await subscription.unsubscribe()
        await connection.close()
