from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadre.authority.policy import (
    Action,
    Amount,
    Grant,
    GrantBook,
    Limits,
    Outcome,
    check_delegation,
)
from cadre.chassis.errors import DomainError

T0 = datetime(2026, 11, 1, tzinfo=UTC)
CENTER, DEPT, TEAM_A, TEAM_B = ("c",), ("c", "d"), ("c", "d", "a"), ("c", "d", "b")


def grant(
    gid,
    grantee,
    scope,
    *,
    parent=None,
    depth=1,
    limits=Limits(max_days=10),
    until=None,
    action=Action.APPROVE_LEAVE,
):
    return Grant(
        gid, grantee, action, scope, limits, T0, until, parent, depth, "system:admin", "cover for the season"
    )


@pytest.fixture
def book() -> GrantBook:
    return GrantBook(
        [
            grant("root", "employees/manager", DEPT, limits=Limits(max_days=10)),
            grant(
                "tl-a",
                "employees/lead-a",
                TEAM_A,
                parent="root",
                depth=2,
                limits=Limits(max_days=3),
                until=T0 + timedelta(days=30),
            ),
        ]
    )


def decide(book, actor, target, days, moment=T0 + timedelta(days=1)):
    return book.authorize(
        actor=actor, action=Action.APPROVE_LEAVE, target_path=target, amount=Amount(days=days), moment=moment
    )


def test_a_team_leader_approves_inside_subtree_and_limits_only(book) -> None:
    allowed = decide(book, "employees/lead-a", (*TEAM_A, "x"), 2)
    assert allowed.allowed and [g.id for g in allowed.chain] == ["root", "tl-a"]
    assert decide(book, "employees/lead-a", TEAM_B, 2).outcome is Outcome.OUT_OF_SCOPE
    assert decide(book, "employees/lead-a", TEAM_A, 4).outcome is Outcome.OVER_LIMIT
    assert decide(book, "employees/nobody", TEAM_A, 1).outcome is Outcome.NO_GRANT
    assert decide(book, "employees/manager", TEAM_B, 10).allowed


def test_an_expired_grant_stops_at_its_end_time(book) -> None:
    end = T0 + timedelta(days=30)
    assert decide(book, "employees/lead-a", TEAM_A, 1, end - timedelta(seconds=1)).allowed
    assert not decide(book, "employees/lead-a", TEAM_A, 1, end).allowed


def test_revoking_a_grant_revokes_what_was_delegated_from_it(book) -> None:
    book.put(replace(book.get("root"), revoked_at=T0 + timedelta(days=2)))
    assert decide(book, "employees/lead-a", TEAM_A, 1, T0 + timedelta(days=1)).allowed
    assert not decide(book, "employees/lead-a", TEAM_A, 1, T0 + timedelta(days=3)).allowed
    assert [g.id for g in book.descendants("root")] == ["tl-a"]


def _delegate(
    book, proposed, grantor="employees/manager", parent="root", moment=T0 + timedelta(days=1), **kw
):
    check_delegation(
        book,
        grantor=grantor,
        grantor_is_administrator=False,
        parent=book.get(parent) if parent else None,
        proposed=proposed,
        moment=moment,
        **kw,
    )


@pytest.mark.parametrize(
    ("proposed", "grantor", "parent", "reason"),
    [
        (
            grant("n", "employees/x", TEAM_B, parent="root", depth=2, limits=Limits(max_days=20)),
            "employees/manager",
            "root",
            "LIMITS_BEYOND_PARENT",
        ),
        (
            grant("n", "employees/x", TEAM_B, parent="root", depth=2, limits=Limits(max_days=None)),
            "employees/manager",
            "root",
            "LIMITS_BEYOND_PARENT",
        ),
        (
            grant("n", "employees/x", CENTER, parent="root", depth=2),
            "employees/manager",
            "root",
            "SCOPE_BEYOND_PARENT",
        ),
        (
            grant("n", "employees/x", TEAM_B, parent="root", depth=2),
            "employees/lead-a",
            "root",
            "NOT_YOUR_GRANT",
        ),
        (
            grant("n", "employees/x", TEAM_B, parent="root", depth=2, action=Action.ADJUST_PAY),
            "employees/manager",
            "root",
            "ACTION_NOT_HELD",
        ),
        (
            grant("n", "employees/x", TEAM_A, parent="tl-a", depth=3, limits=Limits(max_days=1)),
            "employees/lead-a",
            "tl-a",
            "VALIDITY_BEYOND_PARENT",
        ),
        (
            grant("n", "employees/x", TEAM_B, depth=1),
            "employees/manager",
            None,
            "ROOT_GRANT_NEEDS_ADMINISTRATOR",
        ),
    ],
)
def test_a_grantor_delegates_only_what_it_holds(book, proposed, grantor, parent, reason) -> None:
    with pytest.raises(DomainError) as raised:
        _delegate(book, proposed, grantor=grantor, parent=parent)
    assert raised.value.reason == reason


def test_delegation_depth_is_bounded(book) -> None:
    deputy = grant(
        "n",
        "employees/deputy",
        TEAM_A,
        parent="tl-a",
        depth=3,
        limits=Limits(max_days=1),
        until=T0 + timedelta(days=10),
    )
    _delegate(book, deputy, grantor="employees/lead-a", parent="tl-a")
    with pytest.raises(DomainError) as raised:
        _delegate(book, deputy, grantor="employees/lead-a", parent="tl-a", max_depth=2)
    assert raised.value.reason == "DELEGATION_TOO_DEEP"


paths = st.lists(st.sampled_from("abc"), min_size=1, max_size=4).map(tuple)


@settings(max_examples=300, deadline=None)
@given(
    scopes=st.lists(
        st.tuples(paths, st.integers(0, 5), st.booleans(), st.integers(0, 40)), min_size=1, max_size=6
    ),
    target=paths,
    days=st.integers(0, 6),
    at=st.integers(0, 50),
)
def test_decisions_equal_the_reference_policy(scopes, target, days, at) -> None:
    grants = []
    for index, (scope, limit, revoked, until) in enumerate(scopes):
        parent = grants[-1] if grants and index % 2 else None
        grants.append(
            Grant(
                f"g{index}",
                "employees/actor",
                Action.APPROVE_LEAVE,
                scope,
                Limits(max_days=limit),
                T0,
                T0 + timedelta(days=until),
                parent.id if parent else None,
                parent.depth + 1 if parent else 1,
                "system:admin",
                "",
                T0 + timedelta(days=until // 2) if revoked else None,
            )
        )
    moment = T0 + timedelta(days=at)
    by_id = {g.id: g for g in grants}

    def alive(g) -> bool:
        while g is not None:
            if not (
                g.valid_from <= moment < g.valid_until and (g.revoked_at is None or moment < g.revoked_at)
            ):
                return False
            parent = by_id.get(g.parent_id) if g.parent_id else None
            if parent is not None and g.scope_path[: len(parent.scope_path)] != parent.scope_path:
                return False  # a delegation reaches no further than the grant above it
            g = parent
        return True

    expected = any(
        alive(g) and target[: len(g.scope_path)] == g.scope_path and days <= g.limits.max_days for g in grants
    )
    decision = GrantBook(grants).authorize(
        actor="employees/actor",
        action=Action.APPROVE_LEAVE,
        target_path=target,
        amount=Amount(days=days),
        moment=moment,
    )
    assert decision.allowed == expected
    if decision.allowed:
        assert decision.chain[-1].covers(target)
