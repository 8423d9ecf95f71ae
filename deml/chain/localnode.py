"""The local development chain: an anvil node from node_modules, run in the background.

`deml chain up` starts it detached from the shell, with its pid, port and log in the state
dir, and with `--state` so that a restart keeps every deployed contract. Commands that need
the chain on a dev network start it when none answers, as ape and brownie do.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

import requests

from deml import _paths
from deml._fs import tail
from deml._process import alive
from deml.chain.client import Chain
from deml.exceptions import ChainError, ChainUnreachable, ToolchainError
from deml.settings import Settings

# py-evm (the in-process backend) runs Prague; anvil runs the same fork so both agree on gas.
HARDFORK = "prague"
START_TIMEOUT_S = 20
STOP_TIMEOUT_S = 10
# Dump the chain every second too, not only on exit, so a killed node loses at most a second.
STATE_INTERVAL_S = 1
KEPT_STATES = 256
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class NodeInfo:
    """What `deml chain up` recorded about the node it started."""

    pid: int
    port: int
    chain_id: int
    state_file: str
    log_file: str
    started_at: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class LocalNode:
    """Start, inspect and stop the anvil node whose records live in `state_dir`/anvil."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir / "anvil"
        self.record = self.dir / "node.json"

    def status(self) -> NodeInfo | None:
        """The running node this state dir started, or None (a stale record is removed)."""
        if not self.record.is_file():
            return None
        info = NodeInfo(**json.loads(self.record.read_text()))
        # The process is asked, not the port: a node busy for a second (loading its KZG setup
        # for a first blob, a loaded machine) is still this state dir's node, not a stale record.
        if alive(info.pid, b"anvil"):
            return info
        self.record.unlink(missing_ok=True)
        return None

    def start(
        self,
        *,
        port: int,
        chain_id: int,
        mnemonic: str,
        state_file: Path | None = None,
        persist: bool = True,
        block_time: int | None = None,
    ) -> tuple[NodeInfo, bool]:
        """Start anvil unless this state dir's node runs; return it and whether it is new.
        `block_time`: mine a block every that many seconds, as a real network does (default:
        a block per transaction)."""
        if running := self.status():
            return running, False
        url = f"http://127.0.0.1:{port}"
        if (other := rpc_chain_id(url)) is not None:
            raise ChainError(
                f"port {port} is taken by another node (chain {other}) that deml did not start;"
                " stop it or choose another port with --port"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        state_file = (state_file or self.dir / "state.json").resolve()
        log_file = (self.dir / "anvil.log").resolve()
        command = [
            str(anvil_binary()),
            "--host", "127.0.0.1",
            "--port", str(port),
            "--chain-id", str(chain_id),
            "--mnemonic", mnemonic,
            "--hardfork", HARDFORK,
            # Keep recent states in memory only: by default anvil writes every old state to
            # ~/.foundry/anvil/tmp, megabytes a block, until the disk is full.
            "--prune-history", str(KEPT_STATES),
        ]  # fmt: skip
        if block_time is not None:
            command += ["--block-time", str(block_time)]
        if persist:
            # Every dump writes the whole chain: a throwaway node (tests) skips it.
            command += ["--state", str(state_file), "--state-interval", str(STATE_INTERVAL_S)]
        with log_file.open("ab") as log:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives the command that started it
            )
        info = NodeInfo(proc.pid, port, chain_id, str(state_file), str(log_file), time.time())
        deadline = time.monotonic() + START_TIMEOUT_S
        while rpc_chain_id(url) is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise ToolchainError(
                    f"anvil did not start; the end of {log_file}:\n{tail(log_file)}"
                )
            time.sleep(0.1)
        self.record.write_text(json.dumps(asdict(info), indent=2))
        return info, True

    def stop(self) -> NodeInfo | None:
        """Stop the node (it writes its state file on the way out); None if none ran."""
        info = self.status()
        if info is None:
            return None
        # SIGINT is anvil's Ctrl-C: it dumps the state, then exits.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            _signal(info.pid, sig)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while alive(info.pid, b"anvil") and time.monotonic() < deadline:
                time.sleep(0.05)
            if not alive(info.pid, b"anvil"):
                break
        self.record.unlink(missing_ok=True)
        return info


def connect(settings: Settings, *, autostart: bool = True) -> Chain:
    """A Chain as the settings say. On a dev network whose URL was not overridden, the local
    node is started first if none answers; a URL the user chose (DEML_RPC_URL) names a node
    that should be running, so one that does not answer is an error, never a new chain (a
    flaky endpoint must not move a miner onto a chain of its own)."""
    network = settings.active_network
    assert network.rpc_url is not None  # checked when the settings loaded
    # Only the dev chain of this state dir may be started here, so only it is probed (1 s).
    # A node the user named is asked by the connection itself, with its own longer timeout: a
    # loaded node can take seconds to answer (anvil loading its KZG setup for a first blob).
    own = network.dev and autostart and settings.rpc_url is None
    if own and rpc_chain_id(network.rpc_url) is None:
        host, port = _local_address(network.rpc_url)
        if host is None:
            raise ChainUnreachable(
                f"no dev chain answers at {network.rpc_url}, and it is not local"
            )
        mnemonic = network.mnemonic.get_secret_value() if network.mnemonic else ""
        LocalNode(settings.state_dir).start(port=port, chain_id=network.chain_id, mnemonic=mnemonic)
    try:
        return Chain.from_settings(settings)
    except ChainUnreachable as exc:
        if not (network.dev and settings.rpc_url is not None):
            raise
        raise ChainUnreachable(
            f"no chain answers at {network.rpc_url} (DEML_RPC_URL): start that node, or unset"
            f" DEML_RPC_URL to use this state dir's dev chain (`deml chain up`); {exc}"
        ) from None


def anvil_binary() -> Path:
    """anvil as the npm package @foundry-rs/anvil ships it for this platform."""
    arch = _ARCH.get(platform.machine().lower(), platform.machine().lower())
    system = platform.system().lower()
    path = _paths.node_modules() / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"
    if not path.is_file():
        raise ToolchainError(
            f"anvil is not installed at {path}; run `make setup` (it runs `npm ci`)"
        )
    return path


def rpc_chain_id(url: str, timeout_s: float = 1.0) -> int | None:
    """The chain id a node at `url` answers with, or None when nothing answers."""
    try:
        reply = requests.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
            timeout=timeout_s,
        )
        return int(reply.json()["result"], 16)
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return None


def _local_address(url: str) -> tuple[str | None, int]:
    parsed = urlparse(url)
    port = parsed.port or 8545
    return (parsed.hostname if parsed.hostname in ("127.0.0.1", "localhost") else None), port


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
