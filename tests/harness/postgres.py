"""A real PostgreSQL for the tests: a private cluster started once per session, a fresh database per test.

`GENMCP_TEST_POSTGRES_URL` (a superuser's URL) makes the suite use that server instead. Otherwise the cluster is
made with the PostgreSQL binaries of this machine (`pg_config --bindir`, or `/usr/lib/postgresql/<n>/bin`) in a
temporary directory, listening on a free loopback port, with a random password; as root (CI) it runs as the
`postgres` user, since `initdb` refuses root. When no server can be had the tests that need one fail under CI=true
(never skip there) and skip elsewhere.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.harness.process import OutputFollower, free_port

__all__ = [
    "PostgresServer",
    "PostgresUnavailable",
    "fresh_database",
    "postgres_server",
    "private_cluster",
    "table_dump",
    "unavailable",
]

ENV_URL = "GENMCP_TEST_POSTGRES_URL"
_URL_AT_START = os.environ.get(ENV_URL)
"""Read at import: the suite's autouse fixture clears every `GENMCP_*` variable before each test, which may run
before a test asks for the server (`request.getfixturevalue`)."""
START_TIMEOUT = 60.0
READY_LINE = b"database system is ready to accept connections"
"""What the postmaster logs (in English: `lc_messages=C`) once the cluster takes connections."""


class PostgresUnavailable(Exception):
    """No PostgreSQL server could be had (the message says why)."""


class PostgresServer:
    """A server the tests may create databases on (as a superuser)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.password = urlsplit(url).password or ""

    def database_url(self, name: str) -> str:
        """The URL of database `name` on this server."""
        return urlunsplit(urlsplit(self.url)._replace(path=f"/{name}"))

    def create_database(self) -> str:
        """A new empty database; its URL."""
        name = f"genmcp_test_{secrets.token_hex(6)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by `create_database` (its connections are ended first)."""
        name = urlsplit(url).path.lstrip("/")
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def unavailable(why: str) -> NoReturn:
    """No PostgreSQL: fail under CI (it must be there), skip elsewhere."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"PostgreSQL is required in CI: {why}", pytrace=False)
    pytest.skip(f"no PostgreSQL ({why}); set {ENV_URL} or install postgresql")


def _bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = Path(
            subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        )
        if (found / "initdb").is_file():
            return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(candidates[-1]).parent if candidates else None


def _as_postgres(command: list[str]) -> list[str]:
    """Run as the `postgres` user when this process is root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextlib.contextmanager
def private_cluster() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of its own for as long as the context lasts (raises `PostgresUnavailable`)."""
    bindir = _bindir()
    if bindir is None:
        raise PostgresUnavailable("no initdb found (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="genmcp-pg-"))
    data, log = root / "data", root / "postgres.log"
    password = secrets.token_urlsafe(18)
    pwfile = root / "pw"
    pwfile.write_text(password)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(pwfile, "postgres")
    port = free_port()
    process: subprocess.Popen[bytes] | None = None
    follower: OutputFollower | None = None
    try:
        init = subprocess.run(
            _as_postgres(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                ]
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if init.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {init.stderr[-2000:]}")
        settings = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        settings += ["-c", "lc_messages=C"]  # the ready line below, in English
        settings += ["-c", "max_connections=300", "-c", "shared_buffers=128MB", "-c", f"unix_socket_directories={root}"]
        process = subprocess.Popen(
            _as_postgres([str(bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), *settings]),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert process.stdout is not None
        follower = OutputFollower(process.stdout, log, READY_LINE)
        url = f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
        _wait_until_accepting(url, process, follower, log)
        yield PostgresServer(url)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            if follower is not None:
                follower.join()
            if process.stdout is not None:
                process.stdout.close()
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_accepting(url: str, process: subprocess.Popen[bytes], follower: OutputFollower, log: Path) -> None:
    """Return once the server has logged that it is ready and answers a connection; raise `PostgresUnavailable`
    when it exits first or is not ready within `START_TIMEOUT`."""
    if not follower.ready.wait(START_TIMEOUT):
        raise PostgresUnavailable(f"postgres was not ready within {START_TIMEOUT:g} s: {_tail(log)}")
    if follower.line is None:  # its output ended: it exited
        raise PostgresUnavailable(f"postgres exited with {process.wait(10)}: {_tail(log)}")
    try:
        with psycopg.connect(url, connect_timeout=5):
            return
    except psycopg.OperationalError as exc:
        raise PostgresUnavailable(f"postgres said it was ready but refused a connection ({exc}): {_tail(log)}") from exc


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """The server of `GENMCP_TEST_POSTGRES_URL`, or a private cluster for as long as the context lasts."""
    url = os.environ.get(ENV_URL) or _URL_AT_START
    if url:
        try:
            with psycopg.connect(url, connect_timeout=5):
                pass
        except psycopg.OperationalError as exc:
            unavailable(f"{ENV_URL} does not accept connections ({type(exc).__name__})")
        yield PostgresServer(url)
        return
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(private_cluster())
        except PostgresUnavailable as exc:
            unavailable(str(exc))
        yield server


@contextlib.contextmanager
def fresh_database(server: PostgresServer) -> Iterator[str]:
    """A new empty database on `server` for one test; dropped afterwards."""
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)


def table_dump(url: str, prefix: str = "") -> dict[str, str]:
    """Every row of every table of the database at `url` (whose name starts with `prefix`), as text per table: what
    the security suite searches for secrets."""
    with psycopg.connect(url) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE %s ORDER BY 1",
                (f"{prefix}%",),
            )
        ]
        return {name: repr(conn.execute(f'SELECT * FROM "{name}"').fetchall()) for name in names}
