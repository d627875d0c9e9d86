"""Between the contract's messages and the domain's objects."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from google.protobuf import json_format
from google.type import date_pb2

from cadre.chassis.errors import Violations
from cadre.chassis.proto_dates import date_from_proto, date_to_proto
from cadre.performance.domain.kpi import Direction, Metric, Scorecard, new_scorecard
from cadre.performance.domain.money import Money, check_currency
from cadre.performance.domain.pay_rules import BaseKind, BonusTier, DayClass, PayRules, new_pay_rules
from cadre.performance.domain.period import PeriodState
from cadre.performance.v1 import pay_pb2

PAY_PERIODS = "payPeriods"
PAY_RULES = "payRules"
ORG_UNITS = "orgUnits"
EMPLOYEES = "employees"

_BASE_KINDS = {
    pay_pb2.PayRules.BASE_KIND_MONTHLY: BaseKind.MONTHLY,
    pay_pb2.PayRules.BASE_KIND_HOURLY: BaseKind.HOURLY,
}
_DIRECTIONS = {
    pay_pb2.Metric.DIRECTION_HIGHER_IS_BETTER: Direction.HIGHER_IS_BETTER,
    pay_pb2.Metric.DIRECTION_LOWER_IS_BETTER: Direction.LOWER_IS_BETTER,
}
PERIOD_STATES = {
    PeriodState.OPEN: pay_pb2.PayPeriod.STATE_OPEN,
    PeriodState.CALCULATED: pay_pb2.PayPeriod.STATE_CALCULATED,
    PeriodState.IN_REVIEW: pay_pb2.PayPeriod.STATE_IN_REVIEW,
    PeriodState.CLOSED: pay_pb2.PayPeriod.STATE_CLOSED,
}


def decimal(text: str, path: str, violations: Violations, *, default: str | None = None) -> Decimal:
    if not text and default is not None:
        text = default
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        violations.add(path, "MALFORMED_DECIMAL", "must be a decimal number such as 1.5")
        return Decimal(0)
    if not value.is_finite() or abs(value) > Decimal("1e12"):
        violations.add(path, "OUT_OF_RANGE", "must be a finite decimal below 10^12")
        return Decimal(0)
    return value


def required_date(value: date_pb2.Date, path: str, violations: Violations) -> date:
    if value.year == 0 and value.month == 0 and value.day == 0:
        violations.add(path, "REQUIRED_FIELD_MISSING", "must be set")
        return date(1970, 1, 1)
    return date_from_proto(value, path, violations) or date(1970, 1, 1)


def pay_rules_from_proto(message: pay_pb2.PayRules, version: int) -> PayRules:
    violations = Violations()
    p = "pay_rules"
    effective = required_date(message.effective_date, f"{p}.effective_date", violations)
    currency = message.currency_code
    check_currency(currency, f"{p}.currency_code")
    base_kind = _BASE_KINDS.get(message.base_kind)  # type: ignore[call-overload]
    if base_kind is None:
        violations.add(f"{p}.base_kind", "REQUIRED_FIELD_MISSING", "must be MONTHLY or HOURLY")
    multipliers = {
        DayClass.WORK_DAY: decimal(
            message.work_day_overtime_multiplier,
            f"{p}.work_day_overtime_multiplier",
            violations,
            default="1.5",
        ),
        DayClass.REST_DAY: decimal(
            message.rest_day_overtime_multiplier,
            f"{p}.rest_day_overtime_multiplier",
            violations,
            default="2.0",
        ),
        DayClass.STATUTORY_HOLIDAY: decimal(
            message.statutory_holiday_overtime_multiplier,
            f"{p}.statutory_holiday_overtime_multiplier",
            violations,
            default="3.0",
        ),
    }
    tiers = [
        BonusTier(
            t.name,
            decimal(t.min_score, f"{p}.bonus_tiers[{i}].min_score", violations),
            Money(t.amount_minor, currency),
        )
        for i, t in enumerate(message.bonus_tiers)
    ]
    holidays = [
        d
        for i, h in enumerate(message.statutory_holidays)
        if (d := date_from_proto(h, f"{p}.statutory_holidays[{i}]", violations)) is not None
    ]
    hours = decimal(message.standard_monthly_hours, f"{p}.standard_monthly_hours", violations, default="174")
    cap = decimal(message.deduction_cap_ratio, f"{p}.deduction_cap_ratio", violations, default="0.20")
    for code in message.deduction_per_error_minor:
        if not code or len(code) > 50:
            violations.add(
                f"{p}.deduction_per_error_minor", "OUT_OF_RANGE", "error classes are 1–50 characters"
            )
    if not message.site or len(message.site) > 200:
        violations.add(f"{p}.site", "OUT_OF_RANGE", "must be 1–200 characters")
    violations.raise_if_any()
    assert base_kind is not None
    return new_pay_rules(
        site=message.site,
        version=version,
        effective_from=effective,
        currency=currency,
        base_kind=base_kind,
        base_amount=Money(message.base_amount_minor, currency),
        standard_monthly_hours=hours,
        overtime_multipliers=multipliers,
        bonus_tiers=tiers,
        deduction_per_error={k: Money(v, currency) for k, v in message.deduction_per_error_minor.items()},
        deduction_cap_ratio=cap,
        minimum_wage=Money(message.minimum_wage_minor, currency),
        training_hourly_rate=Money(message.training_hourly_rate_minor, currency),
        statutory_holidays=holidays,
    )


def pay_rules_to_json(message: pay_pb2.PayRules) -> str:
    return json_format.MessageToJson(message, indent=None, sort_keys=True)


def pay_rules_from_json(body: str) -> pay_pb2.PayRules:
    return json_format.Parse(body, pay_pb2.PayRules())


def metric_from_proto(m: pay_pb2.Metric, path: str, violations: Violations) -> Metric:
    direction = _DIRECTIONS.get(m.direction)  # type: ignore[call-overload]
    if direction is None:
        violations.add(
            f"{path}.direction", "REQUIRED_FIELD_MISSING", "must be HIGHER_IS_BETTER or LOWER_IS_BETTER"
        )
        direction = Direction.HIGHER_IS_BETTER
    return Metric(
        code=m.code,
        numerator=m.numerator,
        denominator=m.denominator,
        direction=direction,
        target=decimal(m.target, f"{path}.target", violations),
        floor=decimal(m.floor, f"{path}.floor", violations),
        ceiling=decimal(m.ceiling, f"{path}.ceiling", violations),
        weight=decimal(m.weight, f"{path}.weight", violations),
        scale=decimal(m.scale, f"{path}.scale", violations, default="1"),
    )


def scorecard_from_proto(
    message: pay_pb2.Scorecard, version: int, known_measures: Sequence[str]
) -> Scorecard:
    violations = Violations()
    metrics = [
        metric_from_proto(m, f"scorecard.metrics[{i}]", violations) for i, m in enumerate(message.metrics)
    ]
    for i, m in enumerate(metrics):
        for side in ("numerator", "denominator"):
            value = getattr(m, side)
            if value and value not in known_measures:
                violations.add(
                    f"scorecard.metrics[{i}].{side}", "UNKNOWN_MEASURE", f"one of {', '.join(known_measures)}"
                )
    violations.raise_if_any()
    return new_scorecard(version=version, metrics=metrics)


def scorecard_to_json(message: pay_pb2.Scorecard) -> str:
    return json_format.MessageToJson(message, indent=None, sort_keys=True)


def scorecard_from_json(body: str) -> pay_pb2.Scorecard:
    return json_format.Parse(body, pay_pb2.Scorecard())


def period_to_proto(
    row: Any, *, statement_count: int, total_minor: int, open_disputes: int
) -> pay_pb2.PayPeriod:
    message = pay_pb2.PayPeriod(
        name=f"{PAY_PERIODS}/{row.id}",
        site=row.site,
        start_date=date_to_proto(row.start_date),
        end_date=date_to_proto(row.end_date),
        state=PERIOD_STATES[PeriodState(row.state)],
        revision=row.revision,
        statement_count=statement_count,
        total_minor=total_minor,
        open_dispute_count=open_disputes,
        closed_by=row.closed_by,
        etag=str(row.version),
    )
    if row.close_time is not None:
        message.close_time.FromDatetime(row.close_time)
    return message


def line_name(period_id: str, employee_id: str, line_id: str) -> str:
    return f"{PAY_PERIODS}/{period_id}/statements/{employee_id}/lines/{line_id}"


def line_to_proto(row: Any, corrected_name: str, *, show_rate: bool) -> pay_pb2.StatementLine:
    return pay_pb2.StatementLine(
        name=line_name(row.period_id, row.employee_id, row.id),
        kind=pay_pb2.LineKind.Value(f"LINE_KIND_{row.kind}"),
        detail=row.detail,
        quantity=row.quantity,
        unit=row.unit,
        rate=row.rate if show_rate else "",
        amount_minor=row.amount_minor,
        rule_version=row.rule_version,
        fact_ids=json.loads(row.fact_ids),
        corrects_line=corrected_name,
    )
