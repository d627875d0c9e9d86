"""Outgoing gRPC calls: every one carries a deadline and the caller's credentials (R8, R14).

The deadline is the call's own timeout, else what remains of the incoming call being
served, else a default: nothing waits forever, and no callee works on after its caller
gave up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from grpc.aio import ClientCallDetails

from cadre.chassis import deadlines

TokenSource = Callable[[], str]


class _OutgoingCall(
    grpc.aio.UnaryUnaryClientInterceptor,
    grpc.aio.UnaryStreamClientInterceptor,
    grpc.aio.StreamUnaryClientInterceptor,
    grpc.aio.StreamStreamClientInterceptor,
):
    def __init__(self, token_source: TokenSource | None, default_timeout: float) -> None:
        self._token_source = token_source
        self._default_timeout = default_timeout

    def _details(self, details: ClientCallDetails) -> ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        if self._token_source is not None and "authorization" not in metadata:
            metadata.add("authorization", f"Bearer {self._token_source()}")
        timeout = deadlines.remaining(self._default_timeout)
        if details.timeout is not None:
            timeout = min(timeout, details.timeout)
        return ClientCallDetails(
            details.method, timeout, metadata, details.credentials, details.wait_for_ready
        )

    async def intercept_unary_unary(
        self, continuation: Any, client_call_details: ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._details(client_call_details), request)

    async def intercept_unary_stream(
        self, continuation: Any, client_call_details: ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._details(client_call_details), request)

    async def intercept_stream_unary(
        self, continuation: Any, client_call_details: ClientCallDetails, request_iterator: Any
    ) -> Any:
        return await continuation(self._details(client_call_details), request_iterator)

    async def intercept_stream_stream(
        self, continuation: Any, client_call_details: ClientCallDetails, request_iterator: Any
    ) -> Any:
        return await continuation(self._details(client_call_details), request_iterator)


def open_channel(
    address: str,
    *,
    token_source: TokenSource | None = None,
    default_timeout: float = 10.0,
    credentials: grpc.ChannelCredentials | None = None,
) -> grpc.aio.Channel:
    """An aio channel whose every call has a deadline and, given a token source, a bearer token;
    with `credentials` (see `service_identity.channel_credentials`), over mutual TLS."""
    interceptors = [_OutgoingCall(token_source, default_timeout)]
    if credentials is not None:
        return grpc.aio.secure_channel(address, credentials, interceptors=interceptors)
    return grpc.aio.insecure_channel(address, interceptors=interceptors)
