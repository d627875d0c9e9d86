"""The shared kernel of every Cadre service, written once.

Settings, telemetry, the gRPC server and its interceptors, the error model, the
database with its unit of work, the transactional outbox and its relay, the inbox and
the durable consumer runner, paging and request-id idempotency.
"""
