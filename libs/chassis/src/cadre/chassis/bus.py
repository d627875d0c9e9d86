"""The NATS JetStream connection every service shares: connect, reconnect, streams."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

log = logging.getLogger(__name__)


class EventBus:
    """A NATS connection that keeps trying: at start, and after every outage."""

    def __init__(self, url: str, *, name: str, user: str = "", password: str = "") -> None:
        self.url = url
        self.name = name
        self._credentials = {"user": user, "password": password} if user else {}
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self.connected = asyncio.Event()
        self._reconnect_listeners: list[Callable[[], None]] = []

    def on_reconnect(self, listener: Callable[[], None]) -> None:
        self._reconnect_listeners.append(listener)

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise RuntimeError("event bus not connected yet")
        return self._js

    @property
    def nc(self) -> Client:
        if self._nc is None:
            raise RuntimeError("event bus not connected yet")
        return self._nc

    @property
    def is_connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def connect(self) -> None:
        """Returns once connected; retries with backoff while the server is away."""
        delay = 0.2
        while True:
            try:
                self._nc = await nats.connect(
                    servers=[self.url],
                    name=self.name,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    disconnected_cb=self._disconnected,
                    reconnected_cb=self._reconnected,
                    error_cb=self._error,
                    **self._credentials,
                )
                break
            except (TimeoutError, OSError, nats.errors.NoServersError) as error:
                log.warning("nats not reachable at %s (%s); retrying", self.url, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self._js = self._nc.jetstream(timeout=5)
        self.connected.set()
        log.info("connected to nats at %s", self.url)

    async def _disconnected(self) -> None:
        log.warning("nats connection lost")

    async def _reconnected(self) -> None:
        log.info("nats connection back")
        for listener in self._reconnect_listeners:
            listener()

    async def _error(self, error: Exception) -> None:
        log.debug("nats: %s", error)

    async def ensure_stream(
        self, *, name: str, subjects: list[str], replicas: int, duplicate_window: float
    ) -> None:
        """Creates the stream, or updates it to this configuration."""
        config = StreamConfig(
            name=name,
            subjects=subjects,
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            num_replicas=replicas,
            duplicate_window=duplicate_window,
        )
        try:
            await self.js.stream_info(name)
        except NotFoundError:
            await self.js.add_stream(config)
            log.info("created stream %s on %s", name, subjects)
            return
        await self.js.update_stream(config)

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            try:
                await self._nc.drain()
            except Exception:  # a broken connection cannot drain; closing is all that is left
                await self._nc.close()
