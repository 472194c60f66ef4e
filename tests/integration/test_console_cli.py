"""``orderloom users`` and the demo's console login, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

OL = [sys.executable, "-m", "orderloom"]


def _run(url: str, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*OL, *args],
        check=False,
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, "ORDERLOOM_DATABASE_URL": url, **env},
        timeout=120,
    )


def test_users_create_list_and_password(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ol.db"
    assert _run(url, "db", "upgrade").returncode == 0
    assert _run(url, "tenants", "create", "acme").returncode == 0
    create = ["users", "create", "--tenant", "acme", "--username", "olga", "--role", "operator", "--password-stdin"]
    r = _run(url, *create, stdin="s3cret-pass\n")
    assert r.returncode == 0 and "console user 'olga' (operator) created" in r.stdout
    assert "s3cret-pass" not in r.stdout + r.stderr
    r = _run(url, *create, stdin="s3cret-pass\n")
    assert r.returncode == 1 and "already exists" in r.stderr and "Traceback" not in r.stderr
    r = _run(url, "users", "create", "--tenant", "acme", "--username", "x", "--role", "root", "--password-stdin")
    assert r.returncode == 1 and "role must be one of viewer, operator, admin" in r.stderr
    r = _run(url, "users", "create", "--tenant", "nope", "--username", "x", "--password-stdin", stdin="longenough\n")
    assert r.returncode == 1 and "no tenant named 'nope'" in r.stderr
    r = _run(url, "users", "create", "--tenant", "acme", "--username", "y", "--password-stdin", stdin="short\n")
    assert r.returncode == 1 and "at least 8 characters" in r.stderr
    r = _run(url, "users", "create", "--tenant", "acme", "--username", "z", stdin="")
    assert r.returncode == 1 and "--password-stdin" in r.stderr
    assert _run(url, "users", "list", "--tenant", "acme").stdout.split() == ["olga", "operator"]
    r = _run(
        url, "users", "password", "--tenant", "acme", "--username", "olga", "--password-stdin", stdin="n3w-pass!\n"
    )
    assert r.returncode == 0
    r = _run(
        url, "users", "password", "--tenant", "acme", "--username", "ghost", "--password-stdin", stdin="n3w-pass!\n"
    )
    assert r.returncode == 1 and "no console user 'ghost'" in r.stderr
    assert _run(url, "users", "disable", "--tenant", "acme", "--username", "olga").returncode == 0
    assert _run(url, "users", "list", "--tenant", "acme").stdout.split() == []
    r = _run(url, "users", "disable", "--tenant", "acme", "--username", "olga")
    assert r.returncode == 1 and "no active console user 'olga'" in r.stderr


def test_demo_prints_a_console_login_before_the_api_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ol.db"
    assert _run(url, "db", "upgrade").returncode == 0
    r = _run(url, "demo", "--orders", "5", ORDERLOOM_DEMO_ADMIN_PASSWORD="chosen-pass-1")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert "console login (/console): tenant 'demo'  user 'admin'  password 'chosen-pass-1'" in r.stdout
    assert lines[-1].startswith("ol_")
    again = _run(url, "demo", "--orders", "5")
    password = again.stdout.split("password '")[1].split("'")[0]
    assert len(password) >= 16 and password != "chosen-pass-1"
    assert _run(url, "users", "list", "--tenant", "demo").stdout.split() == ["admin", "admin"]
