"""Money: a Decimal amount in an ISO 4217 currency. Never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from orderloom.domain.currencies import CURRENCY_EXPONENTS

__all__ = ["CurrencyMismatch", "Money", "UnknownCurrency", "parse_amount"]


class UnknownCurrency(ValueError):
    """Not an ISO 4217 code in use."""


class CurrencyMismatch(ValueError):
    """Arithmetic or comparison across two currencies."""


def parse_amount(value: object) -> Decimal:
    """Parse a decimal string (or int/Decimal) into a finite Decimal; floats are refused."""
    if isinstance(value, bool | float):
        raise ValueError('amounts are decimal strings such as "598.94", not floats')
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int | str):
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not a decimal amount: {value!r}") from None
    else:
        raise ValueError(f"not a decimal amount: {value!r}")
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return amount


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency; arithmetic only between equal currencies."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if self.currency not in CURRENCY_EXPONENTS:
            raise UnknownCurrency(f"unknown currency {self.currency!r} (ISO 4217 code expected)")
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise ValueError(f"amount must be a finite Decimal, got {self.amount!r}")

    @classmethod
    def of(cls, amount: object, currency: str) -> Money:
        """Money from a decimal string, int or Decimal."""
        return cls(parse_amount(amount), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in the currency."""
        return cls(Decimal(0), currency)

    @property
    def exponent(self) -> int:
        """Minor-unit digits of the currency (2 for USD, 0 for JPY, 3 for KWD)."""
        return CURRENCY_EXPONENTS[self.currency]

    def fits_minor_units(self) -> bool:
        """True when the amount has no more decimal places than the currency allows."""
        return self.amount == self.rounded().amount

    def rounded(self) -> Money:
        """The amount rounded half-even to the currency's minor unit."""
        return Money(self.amount.quantize(Decimal(1).scaleb(-self.exponent)), self.currency)

    def _check(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"can't combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"can't combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("Money can only be multiplied by an int quantity")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.amount >= other.amount

    def same_value(self, other: Money) -> bool:
        """Equal amounts in the same currency, whatever the written scale ("1.50" vs "1.5")."""
        self._check(other)
        return self.amount == other.amount

    def is_negative(self) -> bool:
        """True below zero."""
        return self.amount < 0

    def to_str(self) -> str:
        """The amount as a decimal string with at least the currency's minor digits ("598.90")."""
        q = self.amount
        if -q.as_tuple().exponent < self.exponent:  # type: ignore[operator]
            q = q.quantize(Decimal(1).scaleb(-self.exponent))
        return format(q, "f")
