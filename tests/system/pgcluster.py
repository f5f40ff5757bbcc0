"""A throwaway PostgreSQL cluster for fault tests: initdb, start, stop, crash, freeze, thaw.

The fault tests stop and restart PostgreSQL under load; they do it to a cluster of their own (in
a temporary folder, on a free port, listening on 127.0.0.1 only), never to the machine's. The
server binaries come from Debian's `postgresql` package (/usr/lib/postgresql/<major>/bin), or
from PG_BINDIR. initdb refuses to run as root, so as root the cluster runs as the `postgres`
user (`runuser`), in a folder that user owns. `PgCluster.available()` says why a cluster cannot
be made, for a clean skip.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SERVICE_USER = "postgres"


def bindir() -> Path | None:
    """The newest installed PostgreSQL server's bin folder (PG_BINDIR wins)."""
    if os.environ.get("PG_BINDIR"):
        candidates = [os.environ["PG_BINDIR"]]
    else:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                            key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                            else 0, reverse=True)
    for candidate in candidates:
        folder = Path(candidate)
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PgCluster:
    """One PostgreSQL cluster in a temporary folder; `url()` names a database in it."""

    def __init__(self, port: int | None = None):
        reason = self.available()
        if reason:
            raise RuntimeError(reason)
        self.bin = bindir()
        self.port = port or free_port()
        self.user = SERVICE_USER if os.geteuid() == 0 else None
        # /tmp rather than pytest's tmp_path: the postgres user must be able to enter it.
        self.base = Path(tempfile.mkdtemp(prefix="configurator-pg-"))
        self.data = self.base / "data"
        self._mounts: list[Path] = []
        self.log = self.base / "server.log"
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
        self.base.chmod(0o700)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\n# configurator fault tests\nport = {self.port}\n"
                       "listen_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.base}'\n"
                       "max_connections = 100\nshared_buffers = 32MB\n"
                       "logging_collector = off\n")

    @staticmethod
    def available() -> str | None:
        """None when a cluster can be made here, else why not."""
        if bindir() is None:
            return ("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under "
                    "/usr/lib/postgresql/*/bin; install `postgresql` or set PG_BINDIR")
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(SERVICE_USER)
            except KeyError:
                return f"running as root and there is no `{SERVICE_USER}` user to run initdb as"
            if shutil.which("runuser") is None:
                return "running as root and `runuser` is missing"
        return None

    # --- life cycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Start and wait until it accepts connections."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "120",
                  "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast`: roll back open transactions, disconnect, shut down cleanly; `immediate`:
        abort every process at once, as a crash would (recovery runs on the next start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "120", "stop")

    def running(self) -> bool:
        done = self._run("pg_ctl", "-D", str(self.data), "status", check=False)
        return done.returncode == 0

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().splitlines()[0])

    def freeze(self) -> None:
        """SIGSTOP the postmaster: it accepts TCP connections (the kernel does) but never
        answers one, like a server that hangs; sessions already open keep working."""
        os.kill(self.postmaster_pid(), signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.postmaster_pid(), signal.SIGCONT)

    def destroy(self) -> None:
        """Stop it (whatever state it is in) and delete its folder."""
        try:
            if (self.data / "postmaster.pid").exists():
                try:
                    self.thaw()
                except (OSError, ValueError):
                    pass
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop",
                          check=False)
        finally:
            for mount in self._mounts:
                if subprocess.run(["umount", str(mount)], capture_output=True).returncode:
                    subprocess.run(["umount", "-l", str(mount)], capture_output=True)
            shutil.rmtree(self.base, ignore_errors=True)

    # --- use -----------------------------------------------------------------------------------
    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, tablespace: str | None = None) -> str:
        where = f' TABLESPACE "{tablespace}"' if tablespace else ""
        self.sql(f'CREATE DATABASE "{name}"{where}')
        return self.url(name)

    def sql(self, statement: str) -> None:
        """Run one statement in the `postgres` database, outside a transaction."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                             dbname="postgres", autocommit=True, connect_timeout=10) as admin:
            admin.execute(statement)

    def terminate(self, pid: int) -> None:
        """End one server process's session, as an administrator or a failover would, and wait
        until it is gone."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                             dbname="postgres", autocommit=True, connect_timeout=10) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            deadline = time.monotonic() + 30
            while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                                (pid,)).fetchone()[0] and time.monotonic() < deadline:
                time.sleep(0.05)

    def tmpfs_tablespace(self, name: str, size: str) -> Path | None:
        """A tablespace `name` on a tmpfs of `size` (e.g. "32m") mounted inside the cluster's
        folder, for a disk that really fills up; the write-ahead log stays on the real disk.
        Returns the mount point, or None when mounting is not possible here (not root)."""
        if os.geteuid() != 0:
            return None
        mount = self.base / f"tmpfs-{name}"
        mount.mkdir()
        entry = pwd.getpwnam(self.user or SERVICE_USER)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700,"
                               f"uid={entry.pw_uid},gid={entry.pw_gid}", "tmpfs", str(mount)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            mount.rmdir()
            return None
        self._mounts.append(mount)
        location = mount / "tablespace"
        location.mkdir()
        os.chown(location, entry.pw_uid, entry.pw_gid)
        self.sql(f"CREATE TABLESPACE \"{name}\" LOCATION '{location}'")
        return mount

    def server_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / tool), *args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=180,
                              cwd=self.base)
        if check and done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stdout}{done.stderr}"
                               f"\n{self.server_log()[-2000:]}")
        return done

    def __enter__(self) -> PgCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()


def wait_until(predicate, timeout: float, interval: float = 0.2) -> bool:
    """Poll `predicate` until it is true (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
