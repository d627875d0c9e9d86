"""R15: in the production profile services authenticate each other with mutual TLS, and each
service's NATS user may publish on its own subjects only — with a real nats-server enforcing
the permissions and a real roster serving over TLS."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import nats
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cadre.chassis.events import build_event
from cadre.chassis.service_identity import channel_credentials, nats_authorization, platform_users
from cadre.cli import testing
from cadre.cli.processes import NatsServer, free_port
from cadre.roster.main import build
from cadre.roster.settings import RosterSettings
from cadre.roster.v1 import events_pb2, roster_service_pb2, roster_service_pb2_grpc
from tests.e2e.roster_world import OrgUnit

pytestmark = pytest.mark.e2e

USERS = platform_users(["roster", "scheduling"], lambda user: f"{user}-secret")


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


class CertificateAuthority:
    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.file = folder / f"{name}-ca.pem"
        self.file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, *, server: bool) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        cert = builder.sign(self.key, hashes.SHA256())
        issued = Issued(self.folder / f"{name}.pem", self.folder / f"{name}.key")
        issued.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        issued.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return issued


@pytest.fixture
def guarded_nats(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(
        store_dir=tmp_path / "nats-store",
        log_file=tmp_path / "nats.log",
        authorization=nats_authorization(USERS),
    )
    server.start()
    try:
        yield server
    finally:
        server.kill()


async def _stream_messages(url: str, stream: str) -> int:
    connection = await nats.connect(url, user="observer", password="observer-secret")
    try:
        return (await connection.jetstream().stream_info(stream)).state.messages
    finally:
        await connection.close()


async def test_production_roster_talks_mutual_tls_and_publishes_only_its_own_subjects(
    database_url: str, guarded_nats: NatsServer, tmp_path: Path
) -> None:
    platform = CertificateAuthority(tmp_path, "platform")
    served, caller = platform.issue("roster", server=True), platform.issue("scheduling", server=False)
    rogue = CertificateAuthority(tmp_path, "rogue").issue("intruder", server=False)
    health_port = free_port()
    host = build(
        testing.host_settings(
            RosterSettings,
            database_url=database_url,
            nats=guarded_nats,
            data_dir=tmp_path,
            profile="production",
            tls_cert_file=served.cert,
            tls_key_file=served.key,
            tls_ca_file=platform.file,
            health_port=health_port,
            nats_user="roster",
            nats_password="roster-secret",
        )
    )
    # With mutual TLS, readiness is read on the plaintext probe port (health only).
    async with testing.serving(host, probe_port=health_port):
        address = f"127.0.0.1:{host.bound_port}"
        trusted = channel_credentials(caller.cert, caller.key, platform.file)
        async with testing.channel(address, credentials=trusted) as channel:
            center = await roster_service_pb2_grpc.RosterServiceStub(channel).CreateOrgUnit(
                roster_service_pb2.CreateOrgUnitRequest(
                    org_unit=OrgUnit(
                        display_name="Porto", kind=OrgUnit.KIND_CENTER, time_zone="Europe/Lisbon"
                    )
                )
            )
        assert center.name.startswith("orgUnits/")

        untrusted = {
            "no client certificate": grpc.ssl_channel_credentials(
                root_certificates=platform.file.read_bytes()
            ),
            "a certificate from another CA": channel_credentials(rogue.cert, rogue.key, platform.file),
        }
        for why, credentials in untrusted.items():
            async with testing.channel(address, credentials=credentials) as channel:
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await roster_service_pb2_grpc.RosterServiceStub(channel).GetOrgUnit(
                        roster_service_pb2.GetOrgUnitRequest(name=center.name), timeout=5
                    )
                assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, why
        async with testing.channel(address) as plaintext:
            with pytest.raises(grpc.aio.AioRpcError):
                await roster_service_pb2_grpc.RosterServiceStub(plaintext).GetOrgUnit(
                    roster_service_pb2.GetOrgUnitRequest(name=center.name), timeout=5
                )

        # Roster's own event went out under roster's NATS user.
        for _ in range(100):
            if await _stream_messages(guarded_nats.url, "CADRE_ROSTER") >= 1:
                break
            await asyncio.sleep(0.05)
        assert await _stream_messages(guarded_nats.url, "CADRE_ROSTER") == 1

        # Scheduling's user cannot speak for roster, nor remove roster's stream.
        connection = await nats.connect(guarded_nats.url, user="scheduling", password="scheduling-secret")
        try:
            forged = build_event(
                source="scheduling",
                event_type="cadre.roster.v1.org_unit.created",
                entity=center.name,
                payload=events_pb2.OrgUnitCreatedEvent(),
            )
            with pytest.raises((nats.errors.Error, TimeoutError)):
                await connection.jetstream().publish(
                    "cadre.roster.v1.org_unit.created", forged.envelope, timeout=1
                )
            with pytest.raises((nats.errors.Error, TimeoutError)):
                await connection.jetstream().delete_stream("CADRE_ROSTER")
        finally:
            await connection.close()
        assert await _stream_messages(guarded_nats.url, "CADRE_ROSTER") == 1
