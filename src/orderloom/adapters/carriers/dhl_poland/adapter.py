"""DHL Poland (DHL24 SOAP) ``getTrackAndTraceInfo``: ``events/item`` with status, description, terminal, timestamp
(Polish local time); a SOAP Fault is an error."""

from __future__ import annotations

from datetime import datetime

from orderloom.adapters.carriers.base import chronological, clean, looks_like_attempt, no_tracking
from orderloom.adapters.carriers.carrier_time import stamp
from orderloom.adapters.carriers.payload import Element, children, decode, first_text, text_of
from orderloom.domain.tracking import Location, TrackingEvent, TrackingOutcome, TrackingParseError, TrackingResult

__all__ = ["ADAPTER", "DhlPolandAdapter"]

NAME = "dhl_poland"
HOME = "Europe/Warsaw"


class DhlPolandAdapter:
    """Reads DHL24 track-and-trace responses."""

    name = NAME
    formats = ("soap",)
    home_zone: str | None = HOME

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """One outcome (DHL24 answers for one shipment per call)."""
        root = decode(NAME, payload)
        if not isinstance(root, Element):
            raise TrackingParseError(NAME, "expected XML")
        fault = root if root.tag == "Fault" else root.find(".//Fault")
        if fault is not None:
            code = first_text(fault, "faultcode", "Code/Value")
            return [no_tracking(NAME, "soap", None, code, first_text(fault, "faultstring", "Reason/Text") or "fault")]
        result = root if root.tag == "getTrackAndTraceInfoResult" else root.find(".//getTrackAndTraceInfoResult")
        if result is None:
            raise TrackingParseError(NAME, "no getTrackAndTraceInfoResult element")
        number = text_of(result, "shipmentId")
        if not number:
            raise TrackingParseError(NAME, "no shipmentId")
        items = children(result, "events/item")
        if not items:
            return [no_tracking(NAME, "soap", number, None, "no tracking events yet", kind="no_events")]
        return [
            TrackingResult(
                carrier=NAME,
                api_format="soap",
                tracking_number=number,
                events=chronological(_event(i) for i in items),
                signed_by=clean(text_of(result, "receivedBy")),
            )
        ]


def _event(item: Element) -> TrackingEvent:
    text = text_of(item, "timestamp")
    try:
        moment = datetime.fromisoformat(text or "")
    except ValueError:
        raise TrackingParseError(NAME, f"unreadable timestamp {text!r}") from None
    terminal = clean(text_of(item, "terminal"))
    when = stamp(moment, carrier_zone=HOME)
    description = clean(text_of(item, "description"))
    return TrackingEvent(
        occurred_at=when.utc,
        raw_code=clean(text_of(item, "status")),
        raw_description=description,
        location=Location(text=terminal, facility=terminal, country="PL") if terminal else None,
        delivery_attempt=looks_like_attempt(description),
        local_time=when.local,
        time_basis=when.basis,
    )


ADAPTER = DhlPolandAdapter()
