"""Validation of a submitted order: every field error is collected and reported with its path."""

from __future__ import annotations

import re
from datetime import UTC
from decimal import Decimal

from orderloom.domain.currencies import CURRENCY_EXPONENTS
from orderloom.domain.errors import FieldError, ValidationFailed
from orderloom.domain.money import Money
from orderloom.domain.values import Address, NewLine, NewOrder, OrderLine, Sku, Totals

__all__ = ["MAX_AMOUNT", "MAX_LINES", "validate_new_order"]

MAX_LINES = 1000
MAX_QUANTITY = 1_000_000
MAX_AMOUNT = Decimal("1E+15")  # a quadrillion in major units: beyond any real order, within Decimal's 28 digits
_CHANNEL = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,39}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate_new_order(new: NewOrder) -> list[OrderLine]:
    """Check a submitted order against the domain rules; returns its validated lines or raises ValidationFailed."""
    errors: list[FieldError] = []
    errors += _header_errors(new)
    if new.currency not in CURRENCY_EXPONENTS:
        errors.append(FieldError("currency", f"unknown currency {new.currency!r}: an ISO 4217 code is expected"))
        raise ValidationFailed(errors)
    lines: list[OrderLine] = []
    if not new.lines:
        errors.append(FieldError("lines", "an order needs at least one line"))
    elif len(new.lines) > MAX_LINES:
        errors.append(FieldError("lines", f"at most {MAX_LINES} lines per order"))
    for i, raw in enumerate(new.lines[:MAX_LINES]):
        line, line_errors = _line(i, raw, new.currency)
        errors += line_errors
        if line is not None:
            lines.append(line)
    if not errors:
        errors += _totals_errors(new.totals, lines, new.currency, taxes_included=new.taxes_included)
    if errors:
        raise ValidationFailed(errors)
    return lines


def _header_errors(new: NewOrder) -> list[FieldError]:
    errors: list[FieldError] = []
    if not _CHANNEL.match(new.channel):
        errors.append(FieldError("channel", "1-40 lower-case letters, digits, '_' or '-' expected"))
    if not new.channel_order_id.strip() or len(new.channel_order_id) > 128:
        errors.append(FieldError("channel_order_id", "1-128 characters expected"))
    if new.placed_at.tzinfo is None or new.placed_at.utcoffset() is None:
        errors.append(FieldError("placed_at", "a timestamp with a UTC offset is expected (e.g. 2026-11-25T10:00:00Z)"))
    elif new.placed_at.astimezone(UTC).year < 1990:
        errors.append(FieldError("placed_at", "implausible date"))
    if new.customer.email is not None and not _EMAIL.match(new.customer.email):
        errors.append(FieldError("customer.email", f"not an e-mail address: {new.customer.email!r}"))
    for name, address in (
        ("shipping_address", new.shipping_address),
        ("billing_address", new.billing_address),
    ):
        errors += _address_errors(name, address)
    errors += [
        FieldError(f"tags[{i}]", "tags are 1-64 characters") for i, t in enumerate(new.tags) if not 0 < len(t) <= 64
    ]
    return errors


def _address_errors(name: str, address: Address | None) -> list[FieldError]:
    if address is None:
        return []
    errors: list[FieldError] = []
    if address.country is not None and not _COUNTRY.match(address.country):
        errors.append(FieldError(f"{name}.country", "an ISO 3166-1 alpha-2 code such as 'US' is expected"))
    if address.latitude is not None and not -90 <= address.latitude <= 90:
        errors.append(FieldError(f"{name}.latitude", "must be between -90 and 90"))
    if address.longitude is not None and not -180 <= address.longitude <= 180:
        errors.append(FieldError(f"{name}.longitude", "must be between -180 and 180"))
    return errors


def _amount(path: str, value: Decimal, currency: str, errors: list[FieldError], *, signed: bool = False) -> Money:
    money = Money(value, currency) if value.is_finite() else Money(Decimal(0), currency)
    if not value.is_finite():
        errors.append(FieldError(path, "must be a finite decimal amount"))
    elif not signed and value < 0:
        errors.append(FieldError(path, f"must not be negative, got {value}"))
    elif abs(value) >= MAX_AMOUNT:
        errors.append(FieldError(path, f"must be below {MAX_AMOUNT:,.0f}, got {value}"))
    elif not money.fits_minor_units():
        errors.append(FieldError(path, f"{currency} has {money.exponent} decimal places, got {value}"))
    return money


def _line(i: int, raw: NewLine, currency: str) -> tuple[OrderLine | None, list[FieldError]]:
    path = f"lines[{i}]"
    errors: list[FieldError] = []
    sku: Sku | None = None
    try:
        sku = Sku(raw.sku)
    except ValueError as exc:
        errors.append(FieldError(f"{path}.sku", str(exc)))
    if raw.quantity <= 0:
        errors.append(FieldError(f"{path}.quantity", f"must be a positive whole number, got {raw.quantity}"))
    elif raw.quantity > MAX_QUANTITY:
        errors.append(FieldError(f"{path}.quantity", f"at most {MAX_QUANTITY}, got {raw.quantity}"))
    unit_price = _amount(f"{path}.unit_price", raw.unit_price, currency, errors)
    discount = _amount(f"{path}.discount", raw.discount, currency, errors)
    tax = _amount(f"{path}.tax", raw.tax, currency, errors)
    if not errors and discount > unit_price * raw.quantity:
        errors.append(FieldError(f"{path}.discount", f"{discount.amount} exceeds the line amount"))
    if errors or sku is None:
        return None, errors
    return OrderLine(sku, raw.quantity, unit_price, discount, tax, raw.name, raw.line_id), errors


def _totals_errors(totals: Totals, lines: list[OrderLine], currency: str, *, taxes_included: bool) -> list[FieldError]:
    errors: list[FieldError] = []
    sub = _amount("totals.subtotal", totals.subtotal, currency, errors)
    disc = _amount("totals.discount", totals.discount, currency, errors)
    ship = _amount("totals.shipping", totals.shipping, currency, errors)
    tax = _amount("totals.tax", totals.tax, currency, errors)
    grand = _amount("totals.grand_total", totals.grand_total, currency, errors)
    if errors:
        return errors
    zero = Money.zero(currency)
    lines_gross = sum((line.gross for line in lines), zero)
    lines_discount = sum((line.discount for line in lines), zero)
    lines_tax = sum((line.tax for line in lines), zero)
    if sub != lines_gross:
        errors.append(FieldError("totals.subtotal", f"is {sub.amount} but the lines add up to {lines_gross.amount}"))
    if disc != lines_discount:
        errors.append(
            FieldError(
                "totals.discount",
                f"is {disc.amount} but the line discounts add up to {lines_discount.amount}",
            )
        )
    if tax < lines_tax:
        errors.append(FieldError("totals.tax", f"is {tax.amount}, less than the line taxes {lines_tax.amount}"))
    expected = sub - disc + ship + (zero if taxes_included else tax)
    if grand != expected:
        formula = "subtotal - discount + shipping" + ("" if taxes_included else " + tax")
        errors.append(FieldError("totals.grand_total", f"is {grand.amount} but {formula} = {expected.amount}"))
    return errors
