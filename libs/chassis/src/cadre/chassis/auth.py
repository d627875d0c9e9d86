"""Bearer-token authentication: who is calling, proven by a signed JWT (RELIABILITY R14).

Algorithm, issuer and audience are pinned by settings and an expiry is required; the
key comes from a PEM file or a JWKS endpoint. In the embedded profile a development
key pair is created under the data folder (`cadre token` signs with its private half).
A verified token names a principal: `employees/{id}` for a person, `services/{name}`
for a service, `system:admin` for the platform's own administrator.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cadre.chassis.errors import DomainError, ErrorKind

SYSTEM_ADMIN = "system:admin"
DEV_PRIVATE_KEY = "dev-signing-key.pem"
DEV_PUBLIC_KEY = "dev-verifying-key.pem"
_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Principal:
    subject: str
    expires_at: float

    @property
    def employee_id(self) -> str | None:
        return self.subject.removeprefix("employees/") if self.subject.startswith("employees/") else None

    @property
    def is_service(self) -> bool:
        return self.subject.startswith("services/")

    @property
    def is_system_admin(self) -> bool:
        return self.subject == SYSTEM_ADMIN


def unauthenticated(reason: str, message: str) -> DomainError:
    return DomainError(ErrorKind.UNAUTHENTICATED, reason, message)


def ensure_dev_keys(directory: Path) -> tuple[Path, Path]:
    """The embedded profile's Ed25519 key pair, created once and kept with the data."""
    private_path, public_path = directory / DEV_PRIVATE_KEY, directory / DEV_PUBLIC_KEY
    if private_path.exists() and public_path.exists():
        return private_path, public_path
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # Written under temporary names and renamed, so concurrent starters never read half a key.
    for path, content, mode in ((private_path, private_pem, 0o600), (public_path, public_pem, 0o644)):
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(content)
        temporary.chmod(mode)
        if not path.exists():
            temporary.replace(path)
        else:
            temporary.unlink()
    return private_path, public_path


def issue_token(
    private_key_file: Path,
    subject: str,
    *,
    audience: str = "cadre",
    issuer: str = "cadre",
    ttl_seconds: int = 3600,
    algorithm: str = "EdDSA",
    now: float | None = None,
) -> str:
    issued = int(now if now is not None else time.time())
    claims = {"sub": subject, "aud": audience, "iss": issuer, "iat": issued, "exp": issued + ttl_seconds}
    return jwt.encode(claims, private_key_file.read_bytes(), algorithm=algorithm)


class TokenVerifier:
    def __init__(
        self,
        *,
        algorithm: str,
        issuer: str,
        audience: str,
        public_key_file: Path | None = None,
        jwks_url: str = "",
        leeway_seconds: float = 30.0,
    ) -> None:
        if bool(public_key_file) == bool(jwks_url):
            raise ValueError("give exactly one of public_key_file and jwks_url")
        self._algorithm = algorithm
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._key: Any = public_key_file.read_bytes() if public_key_file else None
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        self._cache: OrderedDict[str, Principal] = OrderedDict()

    def verify(self, token: str) -> Principal:
        cached = self._cache.get(token)
        if cached is not None:
            if cached.expires_at + self._leeway > time.time():
                self._cache.move_to_end(token)
                return cached
            del self._cache[token]
        principal = self._decode(token)
        self._cache[token] = principal
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return principal

    def _decode(self, token: str) -> Principal:
        try:
            key = self._jwks.get_signing_key_from_jwt(token).key if self._jwks else self._key
            claims = jwt.decode(
                token,
                key,
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise unauthenticated("TOKEN_EXPIRED", "the token has expired") from None
        except jwt.InvalidAudienceError:
            raise unauthenticated(
                "TOKEN_WRONG_AUDIENCE", "the token is not meant for this platform"
            ) from None
        except jwt.InvalidIssuerError:
            raise unauthenticated("TOKEN_WRONG_ISSUER", "the token comes from an unknown issuer") from None
        except jwt.InvalidSignatureError:
            raise unauthenticated("TOKEN_BAD_SIGNATURE", "the token's signature does not verify") from None
        except (jwt.InvalidTokenError, jwt.PyJWKClientError):
            raise unauthenticated(
                "TOKEN_INVALID", "the token is malformed or uses a refused algorithm"
            ) from None
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise unauthenticated("TOKEN_INVALID", "the token names no subject")
        return Principal(subject=subject, expires_at=float(claims["exp"]))


def bearer_token(metadata: tuple[tuple[str, str | bytes], ...] | None) -> str:
    for key, value in metadata or ():
        if key == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            raise unauthenticated("TOKEN_MALFORMED", "authorization must be 'Bearer <token>'")
    raise unauthenticated("TOKEN_MISSING", "this call needs an 'authorization: Bearer <token>' header")
