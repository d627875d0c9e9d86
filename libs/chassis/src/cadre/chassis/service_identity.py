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
from collections.abc import Callable, Iterable, Mapping
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


Permissions = dict[str, dict[str, list[str]]]

# Programs outside the platform that publish onto its streams, each onto its own subjects:
# user -> (subjects it may publish, the stream it may create for them, if any).
EXTERNAL_PUBLISHERS: dict[str, tuple[list[str], str | None]] = {
    # Telephony adapters report agent states to scheduling (adherence).
    "telephony": (["cadre.scheduling.v1.agent_state.reported"], None),
    # The contact-center platform sends contact records and other facts to performance.
    "contact-platform": (["cadre.facts.v1.>"], "CADRE_FACTS"),
}


def nats_permissions(service: str | None) -> Permissions:
    """The broker rights of a service's NATS user; `None` for a read-only observer (the `cadre`
    command, the tally witness), which consumes but publishes no event."""
    publish = list(_SHARED_PUBLISH)
    if service is not None:
        publish = [f"cadre.{service}.v1.>", *_stream_management(f"CADRE_{service.upper()}"), *publish]
    # Replies (JetStream API answers, fetched messages) arrive on inboxes; nothing else is read.
    return {"publish": {"allow": publish}, "subscribe": {"allow": ["_INBOX.>"]}}


def publisher_permissions(subjects: list[str], stream: str | None) -> Permissions:
    """An outside publisher: its subjects (and its stream), nothing else."""
    management = _stream_management(stream) if stream else []
    publish = [*subjects, *management, "$JS.API.INFO", "$JS.API.STREAM.INFO.*"]
    return {"publish": {"allow": publish}, "subscribe": {"allow": ["_INBOX.>"]}}


def _stream_management(stream: str) -> list[str]:
    return [f"$JS.API.STREAM.CREATE.{stream}", f"$JS.API.STREAM.UPDATE.{stream}"]


def password_variable(user: str) -> str:
    """The environment variable nats-server reads a user's password from."""
    return f"${user.upper().replace('-', '_')}_NATS_PASSWORD"


def platform_users(
    services: Iterable[str], password: Callable[[str], str]
) -> dict[str, tuple[Permissions, str]]:
    """Every NATS user of a deployment: one per service, the observer, the outside publishers."""
    users = {service: (nats_permissions(service), password(service)) for service in services}
    users["observer"] = (nats_permissions(None), password("observer"))
    for user, (subjects, stream) in EXTERNAL_PUBLISHERS.items():
        users[user] = (publisher_permissions(subjects, stream), password(user))
    return users


def nats_authorization(users: Mapping[str, tuple[Permissions, str]]) -> str:
    """A nats-server `authorization` block: user -> (permissions, password).

    Passwords may be written as `$VARIABLE` so that the server reads them from its environment."""
    entries = []
    for user, (rights, password) in users.items():
        secret = password if password.startswith("$") else json.dumps(password)
        entries.append(
            f"    {{user: {json.dumps(user)}, password: {secret}, permissions: {json.dumps(rights)}}}"
        )
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
