"""Cold-chain excursions and the arriving-soon geofence, as pure domain logic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderloom.domain.telemetry import Geofence, Reading, TelemetryState, distance_m, evaluate

T0 = datetime(2026, 1, 1, 8, tzinfo=UTC)


def temps(*pairs: tuple[int, float]) -> list[Reading]:
    return [Reading(T0 + timedelta(seconds=s), temperature_c=c) for s, c in pairs]


def test_above_8_for_more_than_120_s_continuous_alerts_once() -> None:
    state, alerts, _ = evaluate(
        TelemetryState(), temps((0, 5.0), (10, 8.5), (70, 9.0), (130, 9.5), (131, 10.0), (200, 9.0))
    )
    assert [a.kind for a in alerts] == ["cold_chain_breached"]
    assert alerts[0].at == T0 + timedelta(seconds=131)  # 121 s after the first reading above 8 °C
    assert alerts[0].data["seconds_above_limit"] == 121 and alerts[0].data["max_c"] == 10.0
    assert state.alerted and state.excursion_since == T0 + timedelta(seconds=10)


def test_exactly_120_s_or_a_dip_to_8_is_no_breach() -> None:
    _, at_limit, _ = evaluate(TelemetryState(), temps((0, 9.0), (120, 9.0)))
    assert at_limit == []
    _, dipped, _ = evaluate(TelemetryState(), temps((0, 9.0), (100, 8.0), (150, 9.0), (260, 9.0)))
    assert dipped == []  # the dip to 8.0 ended the first excursion; the second lasted 110 s


def test_state_carries_across_batches_and_a_new_excursion_alerts_again() -> None:
    state, first, _ = evaluate(TelemetryState(), temps((0, 9.0), (60, 9.0)))
    state, second, _ = evaluate(state, temps((121, 9.1)))
    assert first == [] and [a.kind for a in second] == ["cold_chain_breached"]
    state, third, _ = evaluate(state, temps((200, 4.0), (300, 12.0), (500, 12.0)))
    assert [a.kind for a in third] == ["cold_chain_breached"]


def test_out_of_order_and_old_readings_are_ordered_or_ignored() -> None:
    state, alerts, ignored = evaluate(TelemetryState(), temps((130, 9.0), (0, 9.0), (60, 9.0)))
    assert [a.kind for a in alerts] == ["cold_chain_breached"] and ignored == 0
    _, _, late = evaluate(state, temps((50, 3.0)))
    assert late == 1


def test_geofence_fires_once_inside_the_radius() -> None:
    fence = Geofence(52.5200, 13.4050, radius_m=1000)  # Berlin
    far = Reading(T0, latitude=52.55, longitude=13.40)  # ~3.3 km
    near = Reading(T0 + timedelta(minutes=5), latitude=52.525, longitude=13.405)  # ~560 m
    nearer = Reading(T0 + timedelta(minutes=6), latitude=52.521, longitude=13.405)
    state, alerts, _ = evaluate(TelemetryState(), [far, near, nearer], fence=fence)
    assert [a.kind for a in alerts] == ["arriving_soon"] and alerts[0].at == near.at
    assert alerts[0].data["distance_m"] == pytest.approx(556, abs=5)
    assert state.arriving_sent


def test_distance_is_haversine() -> None:
    assert distance_m(0, 0, 0, 1) == pytest.approx(111_195, rel=1e-3)
