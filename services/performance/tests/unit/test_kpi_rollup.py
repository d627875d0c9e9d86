"""KPI rollups: a team's value is the value of its members' pooled raw facts, each fact
counted for the team its agent belonged to on the fact's date — checked against a
reference written here, for random facts and random transfers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from cadre.performance.app.kpis import group_sums
from cadre.performance.domain.kpi import Direction, new_metric
from cadre.performance.domain.money import EXACT
from cadre.performance.domain.org import OrgTree, Stint

START = date(2026, 3, 1)
TEAMS = ("t1", "t2", "t3")
TREE = OrgTree(
    {
        "c": ("c",),
        "d1": ("c", "d1"),
        "d2": ("c", "d2"),
        "t1": ("c", "d1", "t1"),
        "t2": ("c", "d1", "t2"),
        "t3": ("c", "d2", "t3"),
    }
)
ANSWER_RATE = new_metric(
    code="ANSWER_RATE",
    numerator="answered",
    denominator="offered",
    direction=Direction.HIGHER_IS_BETTER,
    target=Decimal(90),
    floor=Decimal(50),
    ceiling=Decimal(100),
    weight=Decimal(1),
    scale=Decimal(100),
)
AHT = new_metric(
    code="AHT",
    numerator="handle_seconds",
    denominator="answered",
    direction=Direction.LOWER_IS_BETTER,
    target=Decimal(300),
    floor=Decimal(600),
    ceiling=Decimal(200),
    weight=Decimal(1),
)

agents = st.sampled_from(["a", "b", "c", "d"])
facts = st.lists(
    st.tuples(agents, st.integers(0, 30), st.integers(1, 20), st.integers(0, 20), st.integers(0, 5000)),
    max_size=60,
)
# Each agent starts in a team and may move once, on a day of the month.
careers = st.fixed_dictionaries(
    {a: st.tuples(st.sampled_from(TEAMS), st.sampled_from(TEAMS), st.integers(1, 30)) for a in "abcd"}
)


def reference_team(career: tuple[str, str, int], day: date) -> str:
    first, second, moved_on = career
    return second if (day - START).days >= moved_on else first


@settings(max_examples=150, deadline=None)
@given(facts=facts, careers=careers, unit=st.sampled_from(["t1", "t2", "t3", "d1", "d2", "c"]))
def test_a_units_kpi_is_the_ratio_of_its_members_pooled_facts(facts, careers, unit) -> None:  # type: ignore[no-untyped-def]
    stints = {
        agent: [
            Stint(agent, first, START - timedelta(days=400), START + timedelta(days=moved - 1)),
            Stint(agent, second, START + timedelta(days=moved)),
        ]
        for agent, (first, second, moved) in careers.items()
    }
    day_sums: dict[tuple[str, date], dict[str, int]] = {}
    for agent, offset, offered, answered_raw, handle in facts:
        answered = min(answered_raw, offered)
        sums = day_sums.setdefault((agent, START + timedelta(days=offset)), {})
        sums["offered"] = sums.get("offered", 0) + offered
        sums["answered"] = sums.get("answered", 0) + answered
        sums["handle_seconds"] = sums.get("handle_seconds", 0) + handle

    pooled = group_sums(day_sums, stints, TREE.subtree(unit))

    # The reference: walk the raw facts, keep those whose agent sat under `unit` that day.
    offered = answered = handle = 0
    for agent, offset, offered_n, answered_raw, handle_n in facts:
        team = reference_team(careers[agent], START + timedelta(days=offset))
        if unit in TREE.paths[team]:
            offered += offered_n
            answered += min(answered_raw, offered_n)
            handle += handle_n
    with localcontext(EXACT):  # the service's one precision for exact ratios
        expected_rate = None if offered == 0 else Decimal(100) * answered / offered
        expected_aht = None if answered == 0 else Decimal(handle) / answered
    assert ANSWER_RATE.value(pooled) == expected_rate
    assert AHT.value(pooled) == expected_aht


def test_a_transfer_splits_facts_by_date_and_the_center_keeps_them_all() -> None:
    stints = {
        "a": [Stint("a", "t1", date(2026, 1, 1), date(2026, 3, 15)), Stint("a", "t2", date(2026, 3, 16))]
    }
    day_sums = {
        ("a", date(2026, 3, 10)): {"offered": 10, "answered": 9},
        ("a", date(2026, 3, 20)): {"offered": 30, "answered": 15},
    }
    assert group_sums(day_sums, stints, {"t1"}).get("offered") == 10
    assert group_sums(day_sums, stints, {"t2"}).get("offered") == 30
    center = group_sums(day_sums, stints, TREE.subtree("c"))
    # 24 / 40 = 60%, not the 70% an average of the two teams' 90% and 50% would claim.
    assert ANSWER_RATE.value(center) == Decimal(60)
