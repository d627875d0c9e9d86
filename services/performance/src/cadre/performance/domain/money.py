"""Exact money: integer minor units with a currency; Decimal for rates and quantities.

The rounding rule, once for the whole service: an amount is computed exactly as
`quantity × rate` in Decimal and rounded **half-even to the currency's minor unit once,
when it becomes a statement line**. Totals are sums of already-rounded lines and are never
rounded again, so a statement always adds up to the cent. Floats never appear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from cadre.chassis.errors import invalid_field

# ISO 4217 minor-unit exponents that differ from the usual 2.
_EXPONENTS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3}
CURRENCY = re.compile(r"^[A-Z]{3}$")
# Enough digits that a rate derived by division (a monthly wage over standard hours) and
# multiplied back loses nothing before the one rounding step.
EXACT = Context(prec=50)


def minor_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


def check_currency(currency: str, field_path: str = "currency") -> str:
    if not CURRENCY.match(currency):
        raise invalid_field(field_path, "MALFORMED_CURRENCY", "must be a three-letter ISO 4217 code")
    return currency


def round_half_even(major: Decimal, currency: str) -> int:
    """An exact amount in major units (e.g. 12.345 USD) → minor units, half-even."""
    scale = Decimal(10) ** minor_exponent(currency)
    with localcontext(EXACT):
        return int((major * scale).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True, order=False)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Money.minor must be an int (minor units)")
        check_currency(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def of(cls, major: str | int | Decimal, currency: str) -> Money:
        """Parse an amount that must be exact in the currency's minor unit ("12.34" USD)."""
        check_currency(currency)
        value = Decimal(major)
        scaled = value.scaleb(minor_exponent(currency))
        if scaled != scaled.to_integral_value():
            raise invalid_field("amount", "NOT_EXACT", f"{major} has more digits than {currency} allows")
        return cls(int(scaled), currency)

    @classmethod
    def rounded(cls, major: Decimal, currency: str) -> Money:
        """The one rounding step: an exact Decimal amount, half-even to the minor unit."""
        return cls(round_half_even(major, currency), currency)

    @property
    def major(self) -> Decimal:
        """The exact amount in major units (Decimal, never float)."""
        return Decimal(self.minor).scaleb(-minor_exponent(self.currency))

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise invalid_field("currency", "CURRENCY_MISMATCH", f"{self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def times(self, factor: Decimal | int) -> Money:
        """`self × factor`, rounded once, half-even to the minor unit."""
        with localcontext(EXACT):
            return Money.rounded(self.major * Decimal(factor), self.currency)

    def __str__(self) -> str:
        return f"{self.major} {self.currency}"


def total(amounts: list[Money] | tuple[Money, ...], currency: str) -> Money:
    """Sum of already-rounded amounts; no rounding happens here."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result
