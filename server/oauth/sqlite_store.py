"""The authorization server's tables in the registry's SQLite file (WAL), behind `OAuthStore`.

The schema is created and upgraded by numbered migrations recorded in `oauth_migrations`: each runs once, in the
same transaction as its record, so opening the store again (or from a second process at once) changes nothing.
Calls are tiny local transactions and run inline, as the job registry's do.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from server.oauth.store import (
    ClientRecord,
    CodeRecord,
    FailureRecord,
    GrantRecord,
    LinkRecord,
    PendingRequest,
    SessionRecord,
    TokenRecord,
    UserExists,
    UserRecord,
    purge_statements,
)
from server.sqlite_file import SqliteFile

__all__ = ["MIGRATIONS", "SqliteOAuthStore"]

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE oauth_users (name TEXT PRIMARY KEY, password_hash TEXT, created_at REAL NOT NULL);
        CREATE TABLE oauth_clients (
            client_id TEXT PRIMARY KEY, origin TEXT NOT NULL, metadata TEXT NOT NULL, secret_digest TEXT,
            secret_expires_at INTEGER, created_at REAL NOT NULL, fetched_at REAL
        );
        CREATE TABLE oauth_requests (digest TEXT PRIMARY KEY, record TEXT NOT NULL, expires_at REAL NOT NULL);
        CREATE TABLE oauth_codes (
            digest TEXT PRIMARY KEY, record TEXT NOT NULL, expires_at REAL NOT NULL, used_at REAL, grant_id TEXT
        );
        CREATE TABLE oauth_grants (
            id TEXT PRIMARY KEY, user_name TEXT NOT NULL, client_id TEXT NOT NULL, scopes TEXT NOT NULL,
            resource TEXT NOT NULL, created_at REAL NOT NULL, last_used_at REAL, revoked_at REAL
        );
        CREATE INDEX oauth_grants_user ON oauth_grants (user_name);
        CREATE INDEX oauth_grants_client ON oauth_grants (client_id);
        CREATE TABLE oauth_tokens (
            digest TEXT PRIMARY KEY, grant_id TEXT NOT NULL, kind TEXT NOT NULL, scopes TEXT,
            expires_at REAL NOT NULL, created_at REAL NOT NULL, used_at REAL
        );
        CREATE INDEX oauth_tokens_grant ON oauth_tokens (grant_id);
        CREATE TABLE oauth_sessions (
            digest TEXT PRIMARY KEY, user_name TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL
        );
        CREATE TABLE oauth_links (
            digest TEXT PRIMARY KEY, user_name TEXT NOT NULL, expires_at REAL NOT NULL, used_at REAL
        );
        CREATE TABLE oauth_failures (key TEXT PRIMARY KEY, count INTEGER NOT NULL, locked_until REAL NOT NULL);
        """,
    ),
]
"""(version, SQL) in order; a released migration is never edited, a change is a new one."""

_GRANT_COLUMNS = "id, user_name, client_id, scopes, resource, created_at, last_used_at, revoked_at"


def _grant(row: tuple[Any, ...]) -> GrantRecord:
    return GrantRecord(
        id=row[0],
        user=row[1],
        client_id=row[2],
        scopes=json.loads(row[3]),
        resource=row[4],
        created_at=row[5],
        last_used_at=row[6],
        revoked_at=row[7],
    )


def _client(row: tuple[Any, ...]) -> ClientRecord:
    return ClientRecord(
        client_id=row[0],
        origin=row[1],
        metadata=json.loads(row[2]),
        secret_digest=row[3],
        secret_expires_at=row[4],
        created_at=row[5],
        fetched_at=row[6],
    )


class SqliteOAuthStore(SqliteFile):
    """`OAuthStore` on a SQLite file (the job registry's)."""

    what = "OAuth store"

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    async def open(self) -> None:
        db = self._connect()
        if db is None:
            return
        with self._tx():
            db.execute("CREATE TABLE IF NOT EXISTS oauth_migrations (version INTEGER PRIMARY KEY, applied_at REAL)")
            applied = {row[0] for row in db.execute("SELECT version FROM oauth_migrations")}
            for version, sql in MIGRATIONS:
                if version in applied:
                    continue
                for statement in filter(str.strip, sql.split(";")):
                    db.execute(statement)
                db.execute("INSERT INTO oauth_migrations VALUES (?, ?)", (version, time.time()))

    def schema_version(self) -> int:
        """The newest migration applied."""
        return int(self._db.execute("SELECT COALESCE(MAX(version), 0) FROM oauth_migrations").fetchone()[0])

    # --- users ---------------------------------------------------------------------------------------------------

    async def add_user(self, user: UserRecord) -> None:
        try:
            self._db.execute(
                "INSERT INTO oauth_users (name, password_hash, created_at) VALUES (?, ?, ?)",
                (user.name, user.password_hash, user.created_at),
            )
        except sqlite3.IntegrityError as exc:
            raise UserExists(user.name) from exc

    async def set_password(self, name: str, password_hash: str | None) -> bool:
        cursor = self._db.execute("UPDATE oauth_users SET password_hash=? WHERE name=?", (password_hash, name))
        return cursor.rowcount == 1

    async def get_user(self, name: str) -> UserRecord | None:
        row = self._db.execute(
            "SELECT name, password_hash, created_at FROM oauth_users WHERE name=?", (name,)
        ).fetchone()
        return UserRecord(name=row[0], password_hash=row[1], created_at=row[2]) if row else None

    async def list_users(self) -> list[UserRecord]:
        rows = self._db.execute("SELECT name, password_hash, created_at FROM oauth_users ORDER BY name").fetchall()
        return [UserRecord(name=r[0], password_hash=r[1], created_at=r[2]) for r in rows]

    async def remove_user(self, name: str, now: float) -> bool:
        with self._tx() as db:
            removed = db.execute("DELETE FROM oauth_users WHERE name=?", (name,)).rowcount == 1
            db.execute("UPDATE oauth_grants SET revoked_at=? WHERE user_name=? AND revoked_at IS NULL", (now, name))
            db.execute("DELETE FROM oauth_sessions WHERE user_name=?", (name,))
            db.execute("DELETE FROM oauth_links WHERE user_name=?", (name,))
        return removed

    # --- clients -------------------------------------------------------------------------------------------------

    async def put_client(self, client: ClientRecord) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO oauth_clients VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                client.client_id,
                client.origin,
                json.dumps(client.metadata),
                client.secret_digest,
                client.secret_expires_at,
                client.created_at,
                client.fetched_at,
            ),
        )

    async def get_client(self, client_id: str) -> ClientRecord | None:
        row = self._db.execute("SELECT * FROM oauth_clients WHERE client_id=?", (client_id,)).fetchone()
        return _client(row) if row else None

    async def list_clients(self) -> list[ClientRecord]:
        return [_client(row) for row in self._db.execute("SELECT * FROM oauth_clients ORDER BY created_at")]

    async def remove_client(self, client_id: str, now: float) -> bool:
        with self._tx() as db:
            removed = db.execute("DELETE FROM oauth_clients WHERE client_id=?", (client_id,)).rowcount == 1
            db.execute(
                "UPDATE oauth_grants SET revoked_at=? WHERE client_id=? AND revoked_at IS NULL", (now, client_id)
            )
        return removed

    # --- requests and codes --------------------------------------------------------------------------------------

    async def put_request(self, request: PendingRequest) -> None:
        self._db.execute(
            "INSERT INTO oauth_requests VALUES (?, ?, ?)",
            (request.digest, request.model_dump_json(), request.expires_at),
        )

    async def get_request(self, digest: str, now: float) -> PendingRequest | None:
        row = self._db.execute(
            "SELECT record FROM oauth_requests WHERE digest=? AND expires_at>?", (digest, now)
        ).fetchone()
        return PendingRequest.model_validate_json(row[0]) if row else None

    async def take_request(self, digest: str, now: float) -> PendingRequest | None:
        with self._tx() as db:
            row = db.execute(
                "SELECT record FROM oauth_requests WHERE digest=? AND expires_at>?", (digest, now)
            ).fetchone()
            db.execute("DELETE FROM oauth_requests WHERE digest=?", (digest,))
        return PendingRequest.model_validate_json(row[0]) if row else None

    async def put_code(self, code: CodeRecord) -> None:
        self._db.execute(
            "INSERT INTO oauth_codes VALUES (?, ?, ?, NULL, NULL)",
            (code.digest, code.model_dump_json(), code.expires_at),
        )

    async def get_code(self, digest: str) -> CodeRecord | None:
        row = self._db.execute("SELECT record, used_at, grant_id FROM oauth_codes WHERE digest=?", (digest,)).fetchone()
        if not row:
            return None
        return CodeRecord.model_validate_json(row[0]).model_copy(update={"used_at": row[1], "grant_id": row[2]})

    async def redeem_code(self, digest: str, grant: GrantRecord, tokens: list[TokenRecord], now: float) -> bool:
        with self._tx() as db:
            spent = db.execute(
                "UPDATE oauth_codes SET used_at=?, grant_id=? WHERE digest=? AND used_at IS NULL AND expires_at>?",
                (now, grant.id, digest, now),
            ).rowcount
            if spent != 1:
                return False
            self._insert_grant(db, grant)
            self._insert_tokens(db, tokens)
        return True

    # --- grants and tokens ---------------------------------------------------------------------------------------

    @staticmethod
    def _insert_grant(db: sqlite3.Connection, grant: GrantRecord) -> None:
        db.execute(
            f"INSERT INTO oauth_grants ({_GRANT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                grant.id,
                grant.user,
                grant.client_id,
                json.dumps(grant.scopes),
                grant.resource,
                grant.created_at,
                grant.last_used_at,
                grant.revoked_at,
            ),
        )

    @staticmethod
    def _insert_tokens(db: sqlite3.Connection, tokens: list[TokenRecord]) -> None:
        db.executemany(
            "INSERT INTO oauth_tokens VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    t.digest,
                    t.grant_id,
                    t.kind,
                    json.dumps(t.scopes) if t.scopes is not None else None,
                    t.expires_at,
                    t.created_at,
                    t.used_at,
                )
                for t in tokens
            ],
        )

    async def get_token(self, digest: str) -> tuple[TokenRecord, GrantRecord] | None:
        row = self._db.execute(
            "SELECT t.digest, t.grant_id, t.kind, t.scopes, t.expires_at, t.created_at, t.used_at, "
            + ", ".join(f"g.{c.strip()}" for c in _GRANT_COLUMNS.split(","))
            + " FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.digest=?",
            (digest,),
        ).fetchone()
        if not row:
            return None
        token = TokenRecord(
            digest=row[0],
            grant_id=row[1],
            kind=row[2],
            scopes=json.loads(row[3]) if row[3] is not None else None,
            expires_at=row[4],
            created_at=row[5],
            used_at=row[6],
        )
        return token, _grant(row[7:])

    async def rotate_refresh(self, digest: str, tokens: list[TokenRecord], now: float) -> bool:
        with self._tx() as db:
            spent = db.execute(
                "UPDATE oauth_tokens SET used_at=? WHERE digest=? AND kind='refresh' AND used_at IS NULL "
                "AND grant_id IN (SELECT id FROM oauth_grants WHERE revoked_at IS NULL)",
                (now, digest),
            ).rowcount
            if spent != 1:
                return False
            self._insert_tokens(db, tokens)
        return True

    async def touch_grant(self, grant_id: str, now: float) -> None:
        self._db.execute("UPDATE oauth_grants SET last_used_at=? WHERE id=?", (now, grant_id))

    async def list_grants(self, *, user: str | None = None, include_revoked: bool = False) -> list[GrantRecord]:
        clauses, args = [], []
        if user is not None:
            clauses.append("user_name=?")
            args.append(user)
        if not include_revoked:
            clauses.append("revoked_at IS NULL")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(f"SELECT {_GRANT_COLUMNS} FROM oauth_grants {where} ORDER BY created_at DESC", args)
        return [_grant(row) for row in rows]

    async def revoke_grant(self, grant_id: str, now: float) -> bool:
        cursor = self._db.execute(
            "UPDATE oauth_grants SET revoked_at=? WHERE id=? AND revoked_at IS NULL", (now, grant_id)
        )
        return cursor.rowcount == 1

    async def revoke_grants(self, *, user: str | None = None, client_id: str | None = None, now: float) -> int:
        if user is None and client_id is None:
            raise ValueError("name a user or a client")
        clauses: list[str] = ["revoked_at IS NULL"]
        args: list[Any] = [now]
        for column, value in (("user_name", user), ("client_id", client_id)):
            if value is not None:
                clauses.append(f"{column}=?")
                args.append(value)
        return self._db.execute(f"UPDATE oauth_grants SET revoked_at=? WHERE {' AND '.join(clauses)}", args).rowcount

    # --- sessions and links --------------------------------------------------------------------------------------

    async def put_session(self, session: SessionRecord) -> None:
        self._db.execute(
            "INSERT INTO oauth_sessions VALUES (?, ?, ?, ?)",
            (session.digest, session.user, session.created_at, session.expires_at),
        )

    async def get_session(self, digest: str, now: float) -> SessionRecord | None:
        row = self._db.execute(
            "SELECT s.digest, s.user_name, s.created_at, s.expires_at FROM oauth_sessions s "
            "JOIN oauth_users u ON u.name = s.user_name WHERE s.digest=? AND s.expires_at>?",
            (digest, now),
        ).fetchone()
        return SessionRecord(digest=row[0], user=row[1], created_at=row[2], expires_at=row[3]) if row else None

    async def delete_session(self, digest: str) -> None:
        self._db.execute("DELETE FROM oauth_sessions WHERE digest=?", (digest,))

    async def put_link(self, link: LinkRecord) -> None:
        self._db.execute("INSERT INTO oauth_links VALUES (?, ?, ?, NULL)", (link.digest, link.user, link.expires_at))

    async def redeem_link(self, digest: str, now: float) -> LinkRecord | None:
        with self._tx() as db:
            spent = db.execute(
                "UPDATE oauth_links SET used_at=? WHERE digest=? AND used_at IS NULL AND expires_at>? "
                "AND user_name IN (SELECT name FROM oauth_users)",
                (now, digest, now),
            ).rowcount
            row = db.execute("SELECT user_name, expires_at FROM oauth_links WHERE digest=?", (digest,)).fetchone()
        if spent != 1 or row is None:
            return None
        return LinkRecord(digest=digest, user=row[0], expires_at=row[1], used_at=now)

    # --- failed sign-ins -----------------------------------------------------------------------------------------

    async def get_failures(self, key: str) -> FailureRecord:
        row = self._db.execute("SELECT count, locked_until FROM oauth_failures WHERE key=?", (key,)).fetchone()
        return FailureRecord(key=key, count=row[0], locked_until=row[1]) if row else FailureRecord(key=key)

    async def record_failure(self, key: str, *, limit: int, lockout: float, now: float) -> FailureRecord:
        with self._tx() as db:
            row = db.execute("SELECT count FROM oauth_failures WHERE key=?", (key,)).fetchone()
            count = (row[0] if row else 0) + 1
            locked_until = now + lockout if count >= limit else 0.0
            if count >= limit:
                count = 0
            db.execute(
                "INSERT INTO oauth_failures VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET count=excluded.count, "
                "locked_until=MAX(oauth_failures.locked_until, excluded.locked_until)",
                (key, count, locked_until),
            )
            stored = db.execute("SELECT count, locked_until FROM oauth_failures WHERE key=?", (key,)).fetchone()
        return FailureRecord(key=key, count=stored[0], locked_until=stored[1])

    async def clear_failures(self, key: str) -> None:
        self._db.execute("DELETE FROM oauth_failures WHERE key=?", (key,))

    async def purge(self, now: float) -> int:
        with self._tx() as db:
            removed = 0
            for sql, args in purge_statements(now, "?"):
                removed += db.execute(sql, args).rowcount
        return removed
