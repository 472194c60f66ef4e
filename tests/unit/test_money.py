"""Money: Decimal amounts in an ISO 4217 currency; arithmetic, rounding and formatting."""

from __future__ import annotations

import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderloom.domain.currencies import CURRENCY_EXPONENTS
from orderloom.domain.money import CurrencyMismatch, Money, UnknownCurrency, parse_amount

LIMIT = Decimal("1e12")
CURRENCIES = sorted(CURRENCY_EXPONENTS)

currencies = st.sampled_from(CURRENCIES)


def amounts(places: int = 4) -> st.SearchStrategy[Decimal]:
    """Bounded decimals with a fixed number of places, so sums stay exact in the default 28-digit context."""
    return st.decimals(min_value=-LIMIT, max_value=LIMIT, allow_nan=False, allow_infinity=False, places=places)


any_places_amounts = st.integers(min_value=0, max_value=8).flatmap(amounts)


@st.composite
def monies(draw: st.DrawFn, currency: str | None = None, places: int = 4) -> Money:
    code = currency if currency is not None else draw(currencies)
    return Money(draw(amounts(places)), code)


@st.composite
def same_currency_pair(draw: st.DrawFn, size: int = 2) -> list[Money]:
    code = draw(currencies)
    return [draw(monies(code)) for _ in range(size)]


# ---- arithmetic ---------------------------------------------------------------------------------------------


@settings(max_examples=200)
@given(same_currency_pair())
def test_addition_is_commutative(pair: list[Money]) -> None:
    a, b = pair
    assert a + b == b + a
    assert (a + b).amount == a.amount + b.amount
    assert (a + b).currency == a.currency


@settings(max_examples=200)
@given(same_currency_pair(size=3))
def test_addition_is_associative(triple: list[Money]) -> None:
    a, b, c = triple
    assert (a + b) + c == a + (b + c)


@settings(max_examples=200)
@given(same_currency_pair())
def test_subtracting_what_was_added_gives_back_the_original(pair: list[Money]) -> None:
    a, b = pair
    assert (a + b) - b == a
    assert a - a == Money.zero(a.currency)
    assert (-a).amount == -a.amount
    assert a + (-a) == Money.zero(a.currency)


@settings(max_examples=100)
@given(monies())
def test_zero_is_the_additive_identity(a: Money) -> None:
    zero = Money.zero(a.currency)
    assert a + zero == a
    assert zero + a == a
    assert zero.amount == 0


@settings(max_examples=200)
@given(monies(), st.integers(min_value=0, max_value=40))
def test_multiplication_by_an_int_is_repeated_addition(a: Money, n: int) -> None:
    total = Money.zero(a.currency)
    for _ in range(n):
        total = total + a
    assert a * n == total
    assert n * a == total
    assert (a * n).currency == a.currency


@pytest.mark.parametrize("factor", [Decimal("1.5"), 1.5, True, "2"])
def test_multiplication_only_by_int_quantities(factor: Any) -> None:
    with pytest.raises(TypeError, match="only be multiplied by an int"):
        Money.of("1.00", "USD") * factor


def test_combining_with_a_non_money_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="can't combine Money with Decimal"):
        Money.of("1.00", "USD") + Decimal(1)  # type: ignore[operator]


@settings(max_examples=200)
@given(same_currency_pair())
def test_comparisons_follow_the_amounts(pair: list[Money]) -> None:
    a, b = pair
    assert (a < b) == (a.amount < b.amount)
    assert (a <= b) == (a.amount <= b.amount)
    assert (a > b) == (a.amount > b.amount)
    assert (a >= b) == (a.amount >= b.amount)
    assert a.same_value(b) == (a.amount == b.amount)
    assert a.is_negative() == (a.amount < 0)


def test_same_value_ignores_the_written_scale() -> None:
    assert Money.of("1.50", "USD").same_value(Money.of("1.5", "USD"))
    assert Money.of("1.50", "USD") == Money.of("1.5", "USD")
    assert hash(Money.of("1.50", "USD")) == hash(Money.of("1.5", "USD"))
    assert Money.of("1.50", "USD") != Money.of("1.50", "EUR")


# ---- currencies ---------------------------------------------------------------------------------------------

BINARY_OPS: list[Callable[[Money, Money], object]] = [
    operator.add,
    operator.sub,
    operator.lt,
    operator.le,
    operator.gt,
    operator.ge,
    Money.same_value,
]


@settings(max_examples=100)
@given(
    st.lists(currencies, min_size=2, max_size=2, unique=True),
    amounts(),
    amounts(),
    st.sampled_from(BINARY_OPS),
)
def test_arithmetic_and_comparison_across_currencies_raise(
    codes: list[str], x: Decimal, y: Decimal, op: Callable[[Money, Money], object]
) -> None:
    a, b = Money(x, codes[0]), Money(y, codes[1])
    with pytest.raises(CurrencyMismatch, match=f"can't combine {codes[0]} with {codes[1]}"):
        op(a, b)


def test_currency_mismatch_message() -> None:
    with pytest.raises(CurrencyMismatch, match="can't combine USD with EUR"):
        Money.of("1", "USD") + Money.of("1", "EUR")


@settings(max_examples=100)
@given(st.text(max_size=5).filter(lambda s: s not in CURRENCY_EXPONENTS))
def test_unknown_currency_raises(code: str) -> None:
    with pytest.raises(UnknownCurrency, match="unknown currency"):
        Money.of("1.00", code)
    with pytest.raises(UnknownCurrency):
        Money.zero(code)


@pytest.mark.parametrize("code", ["usd", "US", "USDD", "ZZZ", "", " USD"])
def test_unknown_currency_examples(code: str) -> None:
    with pytest.raises(UnknownCurrency):
        Money(Decimal(1), code)


@pytest.mark.parametrize(("code", "exponent"), [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3)])
def test_exponent_is_the_currency_minor_unit(code: str, exponent: int) -> None:
    assert Money.zero(code).exponent == exponent


def test_unknown_currency_is_a_value_error() -> None:
    assert issubclass(UnknownCurrency, ValueError)
    assert issubclass(CurrencyMismatch, ValueError)


# ---- parsing ------------------------------------------------------------------------------------------------


@settings(max_examples=100)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match="not floats"):
        parse_amount(value)
    with pytest.raises(ValueError, match="not floats"):
        Money.of(value, "USD")


@pytest.mark.parametrize("value", [True, False])
def test_bools_are_refused(value: bool) -> None:
    with pytest.raises(ValueError, match="not floats"):
        parse_amount(value)


def test_money_constructor_refuses_a_float_amount() -> None:
    with pytest.raises(ValueError, match="finite Decimal"):
        Money(1.5, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "-Infinity", "inf", Decimal("NaN"), Decimal("-Inf")])
def test_non_finite_amounts_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="not a finite amount"):
        parse_amount(value)


@pytest.mark.parametrize("value", ["", "abc", "12,50", "1.2.3", "$5", None, [1], b"1"])
def test_garbage_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="not a decimal amount"):
        parse_amount(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("598.94", Decimal("598.94")), ("-0.5", Decimal("-0.5")), (5, Decimal(5)), (Decimal("1.10"), Decimal("1.10"))],
)
def test_decimal_strings_ints_and_decimals_are_accepted(value: object, expected: Decimal) -> None:
    parsed = parse_amount(value)
    assert parsed == expected
    assert str(parsed) == str(expected)
    assert Money.of(value, "USD").amount == expected


@settings(max_examples=200)
@given(any_places_amounts)
def test_parse_amount_round_trips_the_decimal_string(amount: Decimal) -> None:
    assert parse_amount(str(amount)) == amount


# ---- formatting ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "amount", "text"),
    [
        ("USD", "598.9", "598.90"),
        ("USD", "1", "1.00"),
        ("USD", "0", "0.00"),
        ("USD", "1.2345", "1.2345"),
        ("USD", "1E+3", "1000.00"),
        ("USD", "-3.5", "-3.50"),
        ("JPY", "1500", "1500"),
        ("JPY", "1E+3", "1000"),
        ("JPY", "1500.5", "1500.5"),
        ("KWD", "1.5", "1.500"),
        ("KWD", "12", "12.000"),
        ("KWD", "0.1234", "0.1234"),
    ],
)
def test_to_str_examples(code: str, amount: str, text: str) -> None:
    assert Money.of(amount, code).to_str() == text


@settings(max_examples=200)
@given(currencies, any_places_amounts)
def test_to_str_shows_at_least_the_minor_digits_and_keeps_the_value(code: str, amount: Decimal) -> None:
    money = Money(amount, code)
    text = money.to_str()
    assert "E" not in text
    assert Decimal(text) == amount
    written_places = max(0, -int(amount.as_tuple().exponent))
    fraction = text.partition(".")[2]
    assert len(fraction) == max(money.exponent, written_places)


# ---- rounding -----------------------------------------------------------------------------------------------


@settings(max_examples=200)
@given(currencies, any_places_amounts)
def test_rounded_is_idempotent_and_fits_minor_units(code: str, amount: Decimal) -> None:
    money = Money(amount, code)
    once = money.rounded()
    assert once.fits_minor_units()
    assert once.rounded() == once
    assert once.rounded().to_str() == once.to_str()
    assert once.currency == code
    assert abs(once.amount - amount) <= Decimal(1).scaleb(-money.exponent) / 2
    assert -int(once.amount.as_tuple().exponent) == money.exponent
    assert money.fits_minor_units() == (once.amount == amount)


@pytest.mark.parametrize(
    ("code", "amount", "rounded"),
    [
        ("USD", "0.125", "0.12"),
        ("USD", "0.135", "0.14"),
        ("USD", "-0.125", "-0.12"),
        ("USD", "2.999", "3.00"),
        ("JPY", "2.5", "2"),
        ("JPY", "3.5", "4"),
        ("KWD", "1.0005", "1.000"),
        ("KWD", "1.0015", "1.002"),
    ],
)
def test_rounded_is_half_even_to_the_minor_unit(code: str, amount: str, rounded: str) -> None:
    assert Money.of(amount, code).rounded().to_str() == rounded


@pytest.mark.parametrize(
    ("code", "amount", "fits"),
    [
        ("USD", "1.23", True),
        ("USD", "1.230", True),
        ("USD", "1.235", False),
        ("JPY", "100", True),
        ("JPY", "100.0", True),
        ("JPY", "100.5", False),
        ("KWD", "1.234", True),
        ("KWD", "1.2345", False),
    ],
)
def test_fits_minor_units(code: str, amount: str, fits: bool) -> None:
    assert Money.of(amount, code).fits_minor_units() is fits
