"""``orderloom sla scan`` as a user runs it: a real process on a real SQLite file with a frozen clock."""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_cli import ol


def test_demo_puts_stuck_orders_in_the_inbox_and_a_rescan_flags_nothing_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ol.db"
    ol("db", "upgrade", url=url)
    demo = ol("demo", "--orders", "40", url=url)
    assert "breach(es)" in demo.stdout
    breaches = int(demo.stdout.split("ahead: ")[1].split(" breach")[0])
    assert breaches >= 1
    first = ol("sla", "scan", "--now", "2099-01-01T00:00:00Z", url=url)
    assert "sla scan at 2099-01-01T00:00:00Z:" in first.stdout
    assert "breach:" in first.stdout  # what the demo scan had not reached yet is due by 2099
    again = ol("sla", "scan", "--now", "2099-01-01T00:00:00Z", url=url)
    assert "0 breach(es), 0 warning(s)" in again.stdout


def test_bad_now_is_one_line_and_exit_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ol.db"
    ol("db", "upgrade", url=url)
    for value, message in (("yesterday", "ISO 8601"), ("2030-01-01T00:00:00", "UTC offset")):
        r = ol("sla", "scan", "--now", value, url=url, check=False)
        assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr


def test_worker_runs_until_sigterm(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    url = f"sqlite:///{tmp_path}/ol.db"
    ol("db", "upgrade", url=url)
    env = {**os.environ, "ORDERLOOM_DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "orderloom", "worker", "sla", "--interval", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # printed once the signal handlers are in place
    assert "sla scanner running every 0.2 s" in first
    time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
