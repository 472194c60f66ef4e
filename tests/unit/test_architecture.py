"""The architecture's rules, checked: stdlib-only domain, explicit __all__ everywhere, a pinned public API."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
from pathlib import Path

import orderloom

SRC = Path(orderloom.__file__).parent


def _modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages([str(SRC)], prefix="orderloom.") if not m.name.endswith("__main__")]


def test_domain_imports_only_the_standard_library_and_itself() -> None:
    offenders = []
    for path in (SRC / "domain").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                ours = top == "orderloom" and name.startswith("orderloom.domain")
                stdlib = top == "__future__" or top in sys.stdlib_module_names
                if not (ours or stdlib):
                    offenders.append((path.name, name))
    assert offenders == []


def test_every_module_declares_all() -> None:
    missing = [
        name
        for name in _modules()
        if "migrations" not in name and not hasattr(importlib.import_module(name), "__all__")
    ]
    assert missing == []


def test_public_api_of_the_package_is_pinned() -> None:
    assert orderloom.__all__ == ["__version__"]
    from orderloom import bootstrap
    from orderloom.application import ports

    assert sorted(bootstrap.__all__) == [
        "Container",
        "bootstrap",
        "load_fulfilment_machine",
        "load_lifecycle",
        "load_rules_context",
        "utc_now",
    ]
    assert {"UnitOfWork", "TransactionRunner", "OrderRepository", "AuditLog", "Outbox", "Publisher"} <= set(
        ports.__all__
    )


def test_no_grab_bag_modules() -> None:
    names = {p.stem for p in SRC.rglob("*.py")}
    assert not names & {"utils", "helpers", "misc", "common"}
