from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadre.chassis.errors import DomainError
from cadre.performance.domain.kpi import Direction, FactSums, new_metric, new_scorecard, pool, score

ANSWER_RATE = new_metric(
    code="answer_rate",
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
    code="aht",
    numerator="handle_seconds",
    denominator="handled",
    direction=Direction.LOWER_IS_BETTER,
    target=Decimal(300),
    floor=Decimal(600),
    ceiling=Decimal(240),
    weight=Decimal(3),
)
CARD = new_scorecard(version=4, metrics=[ANSWER_RATE, AHT])


def test_worked_score():
    # Answer rate 90% → (90 − 50) / (100 − 50) = 80 points; AHT 330 s → (330 − 600) / (240 − 600)
    # = 75 points. Weighted: (1 × 80 + 3 × 75) / 4 = 76.25.
    sums = FactSums.of(offered=100, answered=90, handled=90, handle_seconds=90 * 330)
    result = score(CARD, sums)
    assert result.score == Decimal("76.25")
    assert result.scorecard_version == 4
    by_code = {m.code: m for m in result.metrics}
    assert by_code["answer_rate"].value == Decimal(90)
    assert by_code["answer_rate"].met is True
    assert by_code["aht"].points == Decimal(75)
    assert by_code["aht"].met is False


def test_points_clamp_at_floor_and_ceiling():
    assert ANSWER_RATE.points(Decimal(30)) == 0
    assert ANSWER_RATE.points(Decimal(100)) == 100
    assert AHT.points(Decimal(900)) == 0
    assert AHT.points(Decimal(100)) == 100


def test_a_metric_without_data_is_left_out_and_named():
    result = score(CARD, FactSums.of(offered=10, answered=10))
    assert result.without_data == ("aht",)
    assert result.score == Decimal("100.00")
    assert score(CARD, FactSums()).score is None


def test_averages_of_averages_differ_from_pooled_facts():
    # Agent A answered 3 of 3 (100%); agent B 150 of 300 (50%). The mean of the two rates is
    # 75%, but the team answered 153 of 303 calls: 50.4950…%.
    a = FactSums.of(offered=3, answered=3)
    b = FactSums.of(offered=300, answered=150)
    rates = [ANSWER_RATE.value(a), ANSWER_RATE.value(b)]
    assert rates == [Decimal(100), Decimal(50)]
    average_of_averages = sum(rates) / 2
    team = ANSWER_RATE.value(pool([a, b]))
    assert team is not None
    assert average_of_averages == Decimal(75)
    assert Fraction(team) == pytest.approx(Fraction(15300, 303))
    assert team.quantize(Decimal("0.0001")) == Decimal("50.4950")
    assert team != average_of_averages


def test_validation_names_every_bad_field():
    with pytest.raises(DomainError) as raised:
        new_metric(
            code="",
            numerator="x",
            denominator="y",
            direction=Direction.LOWER_IS_BETTER,
            target=Decimal(1000),
            floor=Decimal(100),
            ceiling=Decimal(200),
            weight=Decimal(0),
        )
    assert {v.reason for v in raised.value.violations} == {
        "REQUIRED_FIELD_MISSING",
        "OUT_OF_RANGE",
        "FLOOR_CEILING_ORDER",
    }
    with pytest.raises(DomainError) as duplicate:
        new_scorecard(version=1, metrics=[ANSWER_RATE, ANSWER_RATE])
    assert duplicate.value.reason == "DUPLICATE_METRIC"


# A member's raw facts: offered ≥ answered; handled calls with their handle seconds.
member = st.builds(
    lambda offered, answered_share, handled, seconds: FactSums.of(
        offered=offered,
        answered=offered * answered_share // 100,
        handled=handled,
        handle_seconds=seconds if handled else 0,
    ),
    st.integers(0, 500),
    st.integers(0, 100),
    st.integers(0, 500),
    st.integers(0, 200_000),
)


def reference_ratio(members, numerator, denominator, scale=1):
    """Written here, independently: scale × (sum of numerators) / (sum of denominators)."""
    top = sum(int(m.get(numerator)) for m in members)
    bottom = sum(int(m.get(denominator)) for m in members)
    return None if bottom == 0 else Fraction(scale * top, bottom)


def close(decimal_value, fraction_value):
    if decimal_value is None or fraction_value is None:
        return decimal_value is None and fraction_value is None
    return abs(Fraction(decimal_value) - fraction_value) < Fraction(1, 10**30)


@settings(max_examples=200, deadline=None)
@given(st.lists(member, min_size=1, max_size=12))
def test_team_kpi_equals_the_value_of_its_members_pooled_facts(members):
    team = pool(members)
    assert close(ANSWER_RATE.value(team), reference_ratio(members, "answered", "offered", 100))
    assert close(AHT.value(team), reference_ratio(members, "handle_seconds", "handled"))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(member, min_size=1, max_size=5), min_size=1, max_size=5))
def test_the_same_rule_at_every_level(teams):
    # A department pooled from its teams' sums scores the same as one pooled from every agent.
    by_team = pool(pool(team) for team in teams)
    by_agent = pool(agent for team in teams for agent in team)
    assert by_team == by_agent
    assert score(CARD, by_team) == score(CARD, by_agent)
