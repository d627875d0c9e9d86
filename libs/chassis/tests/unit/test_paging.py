import pytest

from cadre.chassis import paging
from cadre.chassis.errors import DomainError


def test_page_size_zero_means_default_and_large_is_capped() -> None:
    assert paging.page_size(0) == paging.DEFAULT_PAGE_SIZE
    assert paging.page_size(7) == 7
    assert paging.page_size(10**6) == paging.MAX_PAGE_SIZE


def test_negative_page_size_is_invalid_argument_naming_the_field() -> None:
    with pytest.raises(DomainError) as raised:
        paging.page_size(-1)
    assert raised.value.reason == "PAGE_SIZE_NEGATIVE"
    assert raised.value.violations[0].field == "page_size"


def test_token_round_trips_for_the_same_filters() -> None:
    token = paging.encode_page_token(("abc",), {"org_unit": "orgUnits/1"})
    assert paging.decode_page_token(token, {"org_unit": "orgUnits/1"}) == paging.PageCursor(("abc",))
    assert paging.decode_page_token("", {"org_unit": "orgUnits/1"}) is None


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (paging.encode_page_token(("abc",), {"org_unit": "orgUnits/1"}), "PAGE_TOKEN_MISMATCH"),
        ("not base64 at all!", "PAGE_TOKEN_MALFORMED"),
        ("eyJ4IjogMX0", "PAGE_TOKEN_MALFORMED"),  # valid base64 JSON, not our shape
    ],
)
def test_foreign_or_forged_tokens_are_refused(token: str, reason: str) -> None:
    with pytest.raises(DomainError) as raised:
        paging.decode_page_token(token, {"org_unit": "orgUnits/2"})
    assert raised.value.reason == reason
