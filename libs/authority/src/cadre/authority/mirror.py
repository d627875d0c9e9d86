"""`python -m cadre.authority.mirror`: the authority projection as a process of its own.

What a deciding service embeds (a durable consumer on CADRE_ROSTER applying `projection.apply`),
run standalone: a sidecar for services written elsewhere, and the witness the tests compare
with roster's own answers.
"""

from __future__ import annotations

import asyncio
import os
from typing import ClassVar

from cadre.authority import projection
from cadre.chassis.server import ServiceHost
from cadre.chassis.settings import ServiceSettings, load_settings


class MirrorSettings(ServiceSettings):
    service_name: ClassVar[str] = "authority_mirror"
    default_grpc_port: ClassVar[int] = 7198


def build(settings: MirrorSettings) -> ServiceHost:
    host = ServiceHost(settings)
    host.migrate(projection.MIGRATIONS)
    host.add_consumer(
        name=os.environ.get("CADRE_MIRROR_DURABLE", "authority-mirror"),
        stream="CADRE_ROSTER",
        subjects=projection.SUBJECTS,
        handler=projection.apply,
        opening_types=projection.OPENING_TYPES,
    )
    return host


def main() -> None:
    asyncio.run(build(load_settings(MirrorSettings)).serve())


if __name__ == "__main__":
    main()
