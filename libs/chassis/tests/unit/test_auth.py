import base64
import json
import time

import jwt
import pytest

from cadre.chassis.auth import SYSTEM_ADMIN, TokenVerifier, bearer_token, ensure_dev_keys, issue_token
from cadre.chassis.errors import DomainError, ErrorKind


@pytest.fixture
def keys(tmp_path):
    return ensure_dev_keys(tmp_path / "auth")


@pytest.fixture
def verifier(keys) -> TokenVerifier:
    return TokenVerifier(
        algorithm="EdDSA", issuer="cadre", audience="cadre", public_key_file=keys[1], leeway_seconds=0
    )


def _unsigned(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_a_good_token_names_its_principal(keys, verifier) -> None:
    principal = verifier.verify(issue_token(keys[0], "employees/7f0a"))
    assert principal.subject == "employees/7f0a" and principal.employee_id == "7f0a"
    assert verifier.verify(issue_token(keys[0], SYSTEM_ADMIN)).is_system_admin


def test_dev_keys_are_made_once_and_kept(tmp_path) -> None:
    first = ensure_dev_keys(tmp_path)
    content = first[0].read_bytes()
    assert ensure_dev_keys(tmp_path) == first and first[0].read_bytes() == content
    assert first[0].stat().st_mode & 0o077 == 0  # the signing key is private to its owner


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda k, o: issue_token(k, "employees/1", now=time.time() - 7200, ttl_seconds=60), "TOKEN_EXPIRED"),
        (lambda k, o: issue_token(k, "employees/1", audience="someone-else"), "TOKEN_WRONG_AUDIENCE"),
        (lambda k, o: issue_token(k, "employees/1", issuer="evil"), "TOKEN_WRONG_ISSUER"),
        (lambda k, o: issue_token(o, "employees/1"), "TOKEN_BAD_SIGNATURE"),
        (
            lambda k, o: _unsigned(
                {"sub": "system:admin", "aud": "cadre", "iss": "cadre", "iat": 1, "exp": 2**40}
            ),
            "TOKEN_INVALID",
        ),
        (
            lambda k, o: jwt.encode(
                {"sub": "system:admin", "aud": "cadre", "iss": "cadre", "iat": 1, "exp": 2**40},
                "secret",
                algorithm="HS256",
            ),
            "TOKEN_INVALID",
        ),
        (
            lambda k, o: jwt.encode(
                {"sub": "x", "aud": "cadre", "iss": "cadre"}, k.read_bytes(), algorithm="EdDSA"
            ),
            "TOKEN_INVALID",
        ),
        (lambda k, o: "not.a.token", "TOKEN_INVALID"),
    ],
    ids=[
        "expired",
        "wrong-audience",
        "wrong-issuer",
        "wrongly-signed",
        "alg-none",
        "hs256-confusion",
        "no-expiry",
        "garbage",
    ],
)
def test_bad_tokens_are_unauthenticated_with_a_reason(keys, verifier, tmp_path, make, reason) -> None:
    other_key, _ = ensure_dev_keys(tmp_path / "other")
    with pytest.raises(DomainError) as raised:
        verifier.verify(make(keys[0], other_key))
    assert raised.value.kind is ErrorKind.UNAUTHENTICATED
    assert raised.value.reason == reason


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        ((), "TOKEN_MISSING"),
        ((("authorization", "Basic abc"),), "TOKEN_MALFORMED"),
        ((("authorization", "Bearer "),), "TOKEN_MALFORMED"),
    ],
)
def test_the_header_must_carry_a_bearer_token(metadata, reason) -> None:
    with pytest.raises(DomainError) as raised:
        bearer_token(metadata)
    assert raised.value.reason == reason
