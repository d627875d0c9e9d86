"""The chassis's server interceptor: authentication, per-caller limits, request context,
deadlines and the error mapping."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn

import grpc
from grpc.aio import AbortError
from opentelemetry import trace
from sqlalchemy.exc import OperationalError

from cadre.chassis import context as request_context
from cadre.chassis import deadlines
from cadre.chassis.auth import TokenVerifier, bearer_token
from cadre.chassis.errors import DomainError, ErrorKind
from cadre.chassis.grpc_errors import internal_status, to_status

log = logging.getLogger("cadre.rpc")


UNAUTHENTICATED_METHODS = ("/grpc.health", "/grpc.reflection")


class ChassisInterceptor(grpc.aio.ServerInterceptor):
    """Authentication, request context, deadlines and the error mapping, for every method."""

    def __init__(self, *, domain: str, verifier: TokenVerifier, max_in_flight_per_caller: int) -> None:
        self._domain = domain
        self._verifier = verifier
        # R21: one caller (a token subject) cannot take every worker thread and connection of
        # the service; calls beyond its share are refused at once instead of queueing.
        self._max_in_flight = max_in_flight_per_caller
        self._in_flight: dict[str, int] = {}
        # Wrapped handlers, one per method: built once, not on every call.
        self._wrapped: dict[tuple[str, int], grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(UNAUTHENTICATED_METHODS):
            return handler
        key = (method, id(handler.unary_unary or handler.unary_stream or handler.stream_unary or handler))
        cached = self._wrapped.get(key)
        if cached is None:
            cached = self._wrapped[key] = self._wrap(handler, method)
        return cached

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(handler.unary_stream, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                self._unary(handler.stream_unary, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    def _bind(self, request: Any, context: grpc.aio.ServicerContext, method: str) -> tuple[Any, Any, str]:
        """Authenticates the caller (UNAUTHENTICATED before anything runs), admits it within its
        share of the service, and binds the call."""
        principal = self._verifier.verify(bearer_token(context.invocation_metadata()))
        actor = principal.subject
        in_flight = self._in_flight.get(actor, 0)
        if in_flight >= self._max_in_flight:
            raise DomainError(
                ErrorKind.RESOURCE_EXHAUSTED,
                "CALLER_CONCURRENCY_EXCEEDED",
                f"more than {self._max_in_flight} calls in flight from one caller; wait for answers first",
                {"limit": str(self._max_in_flight)},
            )
        self._in_flight[actor] = in_flight + 1
        request_id = getattr(request, "request_id", "") if hasattr(request, "DESCRIPTOR") else ""
        who = request_context.RequestContext(actor=actor, request_id=request_id, method=method)
        return deadlines.set_remaining(context.time_remaining()), request_context.bind(who), actor

    def _release(self, actor: str) -> None:
        remaining = self._in_flight[actor] - 1
        if remaining:
            self._in_flight[actor] = remaining
        else:
            del self._in_flight[actor]

    async def _fail(self, context: grpc.aio.ServicerContext, error: Exception, method: str) -> NoReturn:
        if isinstance(error, OperationalError | TimeoutError | ConnectionError):
            # The database or a peer is busy or away: nothing was committed, and a retry with
            # the same request id is safe (R9) — UNAVAILABLE says exactly that.
            log.warning("%s: %s", method, type(error).__name__)
            error = DomainError(ErrorKind.UNAVAILABLE, "BACKEND_UNAVAILABLE", "busy or unreachable; retry")
        if isinstance(error, DomainError):
            log.info("%s failed: %s", method, error)
            await context.abort_with_status(to_status(error, domain=self._domain))
        span_context = trace.get_current_span().get_span_context()
        trace_id = format(span_context.trace_id, "032x") if span_context.is_valid else "none"
        log.exception("%s crashed", method)
        await context.abort_with_status(internal_status(domain=self._domain, trace_id=trace_id))
        raise AssertionError("abort_with_status returned")

    def _unary(self, behavior: Callable[..., Awaitable[Any]], method: str) -> Callable[..., Awaitable[Any]]:
        async def guarded(request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                deadline_token, context_token, actor = self._bind(request, context, method)
            except DomainError as error:
                await self._fail(context, error, method)
            try:
                return await behavior(request, context)
            except AbortError:
                raise
            except Exception as error:
                await self._fail(context, error, method)
            finally:
                self._release(actor)
                request_context.reset(context_token)
                deadlines.reset(deadline_token)

        return guarded

    def _streaming(
        self, behavior: Callable[..., AsyncIterator[Any]], method: str
    ) -> Callable[..., AsyncIterator[Any]]:
        async def guarded(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            try:
                deadline_token, context_token, actor = self._bind(request, context, method)
            except DomainError as error:
                await self._fail(context, error, method)
            try:
                async for item in behavior(request, context):
                    yield item
            except AbortError:
                raise
            except Exception as error:
                await self._fail(context, error, method)
            finally:
                self._release(actor)
                request_context.reset(context_token)
                deadlines.reset(deadline_token)

        return guarded
