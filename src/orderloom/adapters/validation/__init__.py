"""Order intake checks: format (phone, postal code, totals), address quality (China, US) and price conflicts."""

from orderloom.adapters.validation.address_quality import AddressQuality, BrCepIndex, CnAddressIndex, UsZipIndex
from orderloom.adapters.validation.format_checks import FormatChecks
from orderloom.adapters.validation.price_check import PriceConflictCheck

__all__ = ["AddressQuality", "BrCepIndex", "CnAddressIndex", "FormatChecks", "PriceConflictCheck", "UsZipIndex"]
