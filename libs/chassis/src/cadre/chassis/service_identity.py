"""R15: who a service is, to its peers and to the broker.

gRPC: with `CADRE_TLS_CERT_FILE`, `CADRE_TLS_KEY_FILE` and `CADRE_TLS_CA_FILE` a service
serves TLS only and asks every client for a certificate signed by the platform's CA (mutual
TLS); clients (another service, the `cadre` command) present theirs. The bearer token still
says which person acts; the certificate says which program carries the call.

NATS: each service connects as its own user (`CADRE_NATS_USER`, `CADRE_NATS_PASSWORD`), and
the broker lets that user publish events on its own subjects only, manage its own stream only,
and never delete a stream or a consumer. `nats_permissions` is the one definition of those
rights: the tests start nats-server with it, and the deployment files are checked against it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import grpc

# JetStream API subjects every service needs: account and stream info (to find the streams it
# consumes), consumer create/info/next-message, and acks. Deleting is never among them.
_SHARED_PUBLISH = [
    "$JS.API.INFO",
    "$JS.API.STREAM.INFO.*",
    "$JS.API.STREAM.NAMES",
    "$JS.API.CONSUMER.CREATE.>",
    "$JS.API.CONSUMER.DURABLE.CREATE.>",
    "$JS.API.CONSUMER.INFO.>",
    "$JS.API.CONSUMER.NAMES.>",
    "$JS.API.CONSUMER.LIST.>",
    "$JS.API.CONSUMER.MSG.NEXT.>",
    "$JS.ACK.>",
]


def nats_permissions(service: str | None) -> dict[str, dict[str, list[str]]]:
    """The broker rights of a service's NATS user; `None` for a read-only observer (the `cadre`
    command, the tally witness), which consumes but publishes no event."""
    publish = list(_SHARED_PUBLISH)
    if service is not None:
        stream = f"CADRE_{service.upper()}"
        publish = [
            f"cadre.{service}.v1.>",
            f"$JS.API.STREAM.CREATE.{stream}",
            f"$JS.API.STREAM.UPDATE.{stream}",
            *publish,
        ]
    # Replies (JetStream API answers, fetched messages) arrive on inboxes; nothing else is read.
    return {"publish": {"allow": publish}, "subscribe": {"allow": ["_INBOX.>"]}}


def nats_authorization(users: Mapping[str, tuple[str | None, str]]) -> str:
    """A nats-server `authorization` block: user -> (service or None for an observer, password).

    Passwords may be written as `$VARIABLE` so that the server reads them from its environment."""
    entries = []
    for user, (service, password) in users.items():
        secret = password if password.startswith("$") else json.dumps(password)
        rights = json.dumps(nats_permissions(service))
        entries.append(f"    {{user: {json.dumps(user)}, password: {secret}, permissions: {rights}}}")
    return "authorization {\n  users = [\n" + ",\n".join(entries) + "\n  ]\n}\n"


def server_credentials(cert_file: Path, key_file: Path, ca_file: Path) -> grpc.ServerCredentials:
    """TLS that requires a client certificate signed by the platform's CA."""
    return grpc.ssl_server_credentials(
        [(key_file.read_bytes(), cert_file.read_bytes())],
        root_certificates=ca_file.read_bytes(),
        require_client_auth=True,
    )


def channel_credentials(cert_file: Path, key_file: Path, ca_file: Path) -> grpc.ChannelCredentials:
    """The client half: trusts the platform's CA and presents this program's certificate."""
    return grpc.ssl_channel_credentials(
        root_certificates=ca_file.read_bytes(),
        private_key=key_file.read_bytes(),
        certificate_chain=cert_file.read_bytes(),
    )
