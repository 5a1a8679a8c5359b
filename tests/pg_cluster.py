"""A PostgreSQL cluster of one test's own, which the test may stop and start at will.

The shared test database must never be stopped, so a fault test makes its own cluster with
`initdb` and `pg_ctl` from `pg_config --bindir`, listening on 127.0.0.1 on a free port with its
socket in the cluster's folder. PostgreSQL refuses to run as root: as root the binaries run as the
`postgres` user (`runuser -u postgres --`), which owns the cluster's folder; as anyone else they
run directly. The folder is removed when the context ends.

Besides stopping and starting, a cluster can be frozen (SIGSTOP to the postmaster and every
backend) and thawed: a database that holds its connections open but answers nothing, as one
behind a network partition does, where a stopped one refuses at once.

`require_postgres_binaries()` skips the calling test when the binaries are absent, except with
CI=true, where it fails.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PrivateCluster", "private_cluster", "require_postgres_binaries"]

START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30
COMMAND_TIMEOUT_S = 60
SERVICE_USER = "postgres"


def require_postgres_binaries() -> Path:
    """The folder holding initdb and pg_ctl; skip (or with CI=true fail) when there is none."""
    problem = None
    bindir: Path | None = None
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        problem = "pg_config is not on PATH"
    else:
        answer = subprocess.run(
            [pg_config, "--bindir"],
            capture_output=True,
            text=True,
            check=False,
            timeout=COMMAND_TIMEOUT_S,
        )
        bindir = Path(answer.stdout.strip())
        missing = [name for name in ("initdb", "pg_ctl") if not (bindir / name).is_file()]
        if answer.returncode != 0:
            problem = f"pg_config --bindir failed: {answer.stderr.strip()}"
        elif missing:
            problem = f"{', '.join(missing)} not in {bindir}"
    if problem is None and os.geteuid() == 0:
        if shutil.which("runuser") is None:
            problem = "running as root, and runuser is not on PATH"
        else:
            try:
                pwd.getpwnam(SERVICE_USER)
            except KeyError:
                problem = f"running as root, and there is no {SERVICE_USER!r} user"
    if problem is None and bindir is not None:
        return bindir
    message = f"a private PostgreSQL cluster cannot be made: {problem}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI=true requires it")
    pytest.skip(message)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ClusterCommandFailed(RuntimeError):
    """initdb or pg_ctl failed; the message carries its output and the server log's tail."""


@dataclass
class PrivateCluster:
    """One cluster: its binaries, its folder (data, socket, server log) and its port."""

    bindir: Path
    root: Path
    port: int
    running: bool = False

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def server_log(self) -> Path:
        return self.root / "server.log"

    @property
    def dsn(self) -> str:
        """A libpq URL for the `postgres` database, trust auth over TCP on loopback."""
        return f"postgresql://{SERVICE_USER}@127.0.0.1:{self.port}/postgres"

    def initdb(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SERVICE_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            # Only initdb's own files skip fsync; the server itself runs with fsync on.
            "--no-sync",
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl",
            "start",
            "-D",
            str(self.data),
            "-l",
            str(self.server_log),
            "-o",
            options,
            "-w",
            "-t",
            str(START_TIMEOUT_S),
        )
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` ends every session and checkpoints; `immediate` just exits."""
        self._run(
            "pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", str(STOP_TIMEOUT_S)
        )
        self.running = False

    def freeze(self) -> None:
        """Stop every process of the server in its tracks (SIGSTOP); connections stay open."""
        postmaster = self._postmaster()
        os.kill(postmaster, signal.SIGSTOP)  # first, so it forks no new backend meanwhile
        _signal_children(postmaster, signal.SIGSTOP)

    def thaw(self) -> None:
        """Let a frozen server run on (SIGCONT) exactly where it stopped."""
        postmaster = self._postmaster()
        _signal_children(postmaster, signal.SIGCONT)
        os.kill(postmaster, signal.SIGCONT)

    def _postmaster(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVICE_USER, "--", *command]
        answer = subprocess.run(
            command,
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
            timeout=COMMAND_TIMEOUT_S,
        )
        if answer.returncode != 0:
            tail = ""
            with contextlib.suppress(OSError):
                tail = "\n".join(self.server_log.read_text().splitlines()[-20:])
            raise ClusterCommandFailed(
                f"{program} {args[0]} exited {answer.returncode}:\n{answer.stdout}{answer.stderr}"
                f"\nserver log:\n{tail}"
            )


def _signal_children(parent: int, signum: signal.Signals) -> None:
    for pid in _children(parent):
        # A backend whose client has gone may exit between the listing and the signal.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _children(parent: int) -> list[int]:
    """The processes whose parent is `parent`, read from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended while we looked
        # The command name is in parentheses and may hold spaces; the parent pid follows it.
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


@contextlib.contextmanager
def private_cluster(bindir: Path) -> Iterator[PrivateCluster]:
    """A fresh, started cluster on a free port; stopped and removed when the context ends."""
    root = Path(tempfile.mkdtemp(prefix="gateway-pg-"))
    try:
        if os.geteuid() == 0:
            owner = pwd.getpwnam(SERVICE_USER)
            os.chown(root, owner.pw_uid, owner.pw_gid)
        cluster = PrivateCluster(bindir, root, free_port())
        cluster.socket_dir.mkdir()
        if os.geteuid() == 0:
            os.chown(cluster.socket_dir, owner.pw_uid, owner.pw_gid)
        cluster.initdb()
        cluster.start()
        try:
            yield cluster
        finally:
            if cluster.running:
                try:
                    cluster.thaw()  # a frozen server would not stop
                finally:
                    cluster.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)
