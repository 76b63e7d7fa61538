"""The authorization server's tables in the shared PostgreSQL store, behind `OAuthStore`: every replica sees the same
users, clients, codes, tokens, sessions, links and failed sign-in counts.

The tables come with the store's numbered migrations (`server.store.migrations`, applied under its advisory lock)
and the calls use its connection pool: in `genmcp serve` the runtime's `PostgresStore`, shared; for an operator
command one of its own. Whatever is single use (a request, a code, a refresh token, a link) is spent by one
conditional write, so when two replicas race, one wins and the other sees it spent; a failed sign-in is counted by
one upsert, so replicas never lose each other's counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import errors
from psycopg.types.json import Jsonb

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
from server.store.postgres import PostgresStore

__all__ = ["PURGE_LOCK", "PostgresOAuthStore"]

PURGE_LOCK = 0x67656E6D6370_03
"""The advisory lock key held while deleting expired records ("genmcp", 3): one replica at a time."""

_GRANT = "g.id, g.user_name, g.client_id, g.scopes, g.resource, g.created_at, g.last_used_at, g.revoked_at"
_TOKEN = "t.digest, t.grant_id, t.kind, t.scopes, t.expires_at, t.created_at, t.used_at"
_CLIENT = "client_id, origin, metadata, secret_digest, secret_expires_at, created_at, fetched_at"


def _grant(row: Sequence[Any]) -> GrantRecord:
    keys = ("id", "user", "client_id", "scopes", "resource", "created_at", "last_used_at", "revoked_at")
    return GrantRecord.model_validate(dict(zip(keys, row, strict=True)))


def _token(row: Sequence[Any]) -> TokenRecord:
    keys = ("digest", "grant_id", "kind", "scopes", "expires_at", "created_at", "used_at")
    return TokenRecord.model_validate(dict(zip(keys, row, strict=True)))


def _client(row: Sequence[Any]) -> ClientRecord:
    keys = ("client_id", "origin", "metadata", "secret_digest", "secret_expires_at", "created_at", "fetched_at")
    return ClientRecord.model_validate(dict(zip(keys, row, strict=True)))


def _user(row: Sequence[Any]) -> UserRecord:
    return UserRecord(name=row[0], password_hash=row[1], created_at=row[2])


class PostgresOAuthStore:
    """`OAuthStore` in PostgreSQL (see the module docstring).

    Args:
        store: The PostgreSQL store whose pool (and migrations) this uses.
        owned: Whether closing this closes `store` too (an operator command's own); a runtime's shared store is
            closed by the runtime.
    """

    def __init__(self, store: PostgresStore, *, owned: bool) -> None:
        self.store = store
        self.owned = owned

    @property
    def description(self) -> str:
        """Where the records are (never with a password)."""
        return self.store.description

    async def open(self) -> None:
        await self.store.open()  # connects, and migrates (the OAuth tables are one of its migrations)

    async def close(self) -> None:
        if self.owned:
            await self.store.close()

    async def schema_version(self) -> int:
        """The newest migration applied to the shared store."""
        return await self.store.schema_version()

    async def _rows(self, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple[Any, ...]]:
        async with self.store.pool.connection() as conn:
            cursor = await conn.execute(sql, args)
            return await cursor.fetchall() if cursor.description else []

    async def _row(self, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> tuple[Any, ...] | None:
        rows = await self._rows(sql, args)
        return rows[0] if rows else None

    async def _count(self, sql: str, args: Sequence[Any] = ()) -> int:
        async with self.store.pool.connection() as conn:
            return (await conn.execute(sql, args)).rowcount

    # --- users ---------------------------------------------------------------------------------------------------

    async def add_user(self, user: UserRecord) -> None:
        try:
            await self._count(
                "INSERT INTO oauth_users (name, password_hash, created_at) VALUES (%s, %s, %s)",
                (user.name, user.password_hash, user.created_at),
            )
        except errors.UniqueViolation as exc:
            raise UserExists(user.name) from exc

    async def set_password(self, name: str, password_hash: str | None) -> bool:
        return await self._count("UPDATE oauth_users SET password_hash=%s WHERE name=%s", (password_hash, name)) == 1

    async def get_user(self, name: str) -> UserRecord | None:
        row = await self._row("SELECT name, password_hash, created_at FROM oauth_users WHERE name=%s", (name,))
        return _user(row) if row else None

    async def list_users(self) -> list[UserRecord]:
        # COLLATE "C": byte order, as SQLite sorts, whatever the database's locale.
        rows = await self._rows('SELECT name, password_hash, created_at FROM oauth_users ORDER BY name COLLATE "C"')
        return [_user(row) for row in rows]

    async def remove_user(self, name: str, now: float) -> bool:
        async with self.store.pool.connection() as conn, conn.transaction():
            removed = (await conn.execute("DELETE FROM oauth_users WHERE name=%s", (name,))).rowcount == 1
            await conn.execute(
                "UPDATE oauth_grants SET revoked_at=%s WHERE user_name=%s AND revoked_at IS NULL", (now, name)
            )
            await conn.execute("DELETE FROM oauth_sessions WHERE user_name=%s", (name,))
            await conn.execute("DELETE FROM oauth_links WHERE user_name=%s", (name,))
        return removed

    # --- clients -------------------------------------------------------------------------------------------------

    async def put_client(self, client: ClientRecord) -> None:
        await self._count(
            f"INSERT INTO oauth_clients ({_CLIENT}) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (client_id) DO "
            "UPDATE SET origin=excluded.origin, metadata=excluded.metadata, secret_digest=excluded.secret_digest, "
            "secret_expires_at=excluded.secret_expires_at, created_at=excluded.created_at, "
            "fetched_at=excluded.fetched_at",
            (
                client.client_id,
                client.origin,
                Jsonb(client.metadata),
                client.secret_digest,
                client.secret_expires_at,
                client.created_at,
                client.fetched_at,
            ),
        )

    async def get_client(self, client_id: str) -> ClientRecord | None:
        row = await self._row(f"SELECT {_CLIENT} FROM oauth_clients WHERE client_id=%s", (client_id,))
        return _client(row) if row else None

    async def list_clients(self) -> list[ClientRecord]:
        rows = await self._rows(f"SELECT {_CLIENT} FROM oauth_clients ORDER BY created_at, client_id")
        return [_client(row) for row in rows]

    async def remove_client(self, client_id: str, now: float) -> bool:
        async with self.store.pool.connection() as conn, conn.transaction():
            removed = (await conn.execute("DELETE FROM oauth_clients WHERE client_id=%s", (client_id,))).rowcount == 1
            await conn.execute(
                "UPDATE oauth_grants SET revoked_at=%s WHERE client_id=%s AND revoked_at IS NULL", (now, client_id)
            )
        return removed

    # --- requests and codes --------------------------------------------------------------------------------------

    async def put_request(self, request: PendingRequest) -> None:
        await self._count(
            "INSERT INTO oauth_requests (digest, record, expires_at) VALUES (%s, %s, %s)",
            (request.digest, Jsonb(request.model_dump(mode="json")), request.expires_at),
        )

    async def get_request(self, digest: str, now: float) -> PendingRequest | None:
        row = await self._row("SELECT record FROM oauth_requests WHERE digest=%s AND expires_at>%s", (digest, now))
        return PendingRequest.model_validate(row[0]) if row else None

    async def take_request(self, digest: str, now: float) -> PendingRequest | None:
        row = await self._row("DELETE FROM oauth_requests WHERE digest=%s RETURNING record, expires_at", (digest,))
        return PendingRequest.model_validate(row[0]) if row and row[1] > now else None

    async def put_code(self, code: CodeRecord) -> None:
        await self._count(
            "INSERT INTO oauth_codes (digest, record, expires_at) VALUES (%s, %s, %s)",
            (code.digest, Jsonb(code.model_dump(mode="json", exclude={"used_at", "grant_id"})), code.expires_at),
        )

    async def get_code(self, digest: str) -> CodeRecord | None:
        row = await self._row("SELECT record, used_at, grant_id FROM oauth_codes WHERE digest=%s", (digest,))
        if row is None:
            return None
        return CodeRecord.model_validate({**row[0], "used_at": row[1], "grant_id": row[2]})

    async def redeem_code(self, digest: str, grant: GrantRecord, tokens: list[TokenRecord], now: float) -> bool:
        async with self.store.pool.connection() as conn, conn.transaction():
            spent = await conn.execute(
                "UPDATE oauth_codes SET used_at=%s, grant_id=%s WHERE digest=%s AND used_at IS NULL AND expires_at>%s",
                (now, grant.id, digest, now),
            )
            if spent.rowcount != 1:
                return False
            await conn.execute(
                "INSERT INTO oauth_grants (id, user_name, client_id, scopes, resource, created_at, last_used_at, "
                "revoked_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    grant.id,
                    grant.user,
                    grant.client_id,
                    grant.scopes,
                    grant.resource,
                    grant.created_at,
                    grant.last_used_at,
                    grant.revoked_at,
                ),
            )
            await self._insert_tokens(conn, tokens)
        return True

    # --- grants and tokens ---------------------------------------------------------------------------------------

    @staticmethod
    async def _insert_tokens(conn: psycopg.AsyncConnection[Any], tokens: list[TokenRecord]) -> None:
        async with conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO oauth_tokens (digest, grant_id, kind, scopes, expires_at, created_at, used_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [(t.digest, t.grant_id, t.kind, t.scopes, t.expires_at, t.created_at, t.used_at) for t in tokens],
            )

    async def get_token(self, digest: str) -> tuple[TokenRecord, GrantRecord] | None:
        row = await self._row(
            f"SELECT {_TOKEN}, {_GRANT} FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.digest=%s",
            (digest,),
        )
        return (_token(row[:7]), _grant(row[7:])) if row else None

    async def rotate_refresh(self, digest: str, tokens: list[TokenRecord], now: float) -> bool:
        async with self.store.pool.connection() as conn, conn.transaction():
            spent = await conn.execute(
                "UPDATE oauth_tokens SET used_at=%s WHERE digest=%s AND kind='refresh' AND used_at IS NULL "
                "AND grant_id IN (SELECT id FROM oauth_grants WHERE revoked_at IS NULL)",
                (now, digest),
            )
            if spent.rowcount != 1:
                return False
            await self._insert_tokens(conn, tokens)
        return True

    async def touch_grant(self, grant_id: str, now: float) -> None:
        await self._count("UPDATE oauth_grants SET last_used_at=%s WHERE id=%s", (now, grant_id))

    async def list_grants(self, *, user: str | None = None, include_revoked: bool = False) -> list[GrantRecord]:
        clauses, args = [], []
        if user is not None:
            clauses.append("g.user_name=%s")
            args.append(user)
        if not include_revoked:
            clauses.append("g.revoked_at IS NULL")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._rows(f"SELECT {_GRANT} FROM oauth_grants g {where} ORDER BY g.created_at DESC, g.id", args)
        return [_grant(row) for row in rows]

    async def revoke_grant(self, grant_id: str, now: float) -> bool:
        revoked = await self._count(
            "UPDATE oauth_grants SET revoked_at=%s WHERE id=%s AND revoked_at IS NULL", (now, grant_id)
        )
        return revoked == 1

    async def revoke_grants(self, *, user: str | None = None, client_id: str | None = None, now: float) -> int:
        if user is None and client_id is None:
            raise ValueError("name a user or a client")
        clauses: list[str] = ["revoked_at IS NULL"]
        args: list[Any] = [now]
        for column, value in (("user_name", user), ("client_id", client_id)):
            if value is not None:
                clauses.append(f"{column}=%s")
                args.append(value)
        return await self._count(f"UPDATE oauth_grants SET revoked_at=%s WHERE {' AND '.join(clauses)}", args)

    # --- sessions and links --------------------------------------------------------------------------------------

    async def put_session(self, session: SessionRecord) -> None:
        await self._count(
            "INSERT INTO oauth_sessions (digest, user_name, created_at, expires_at) VALUES (%s, %s, %s, %s)",
            (session.digest, session.user, session.created_at, session.expires_at),
        )

    async def get_session(self, digest: str, now: float) -> SessionRecord | None:
        row = await self._row(
            "SELECT s.digest, s.user_name, s.created_at, s.expires_at FROM oauth_sessions s "
            "JOIN oauth_users u ON u.name = s.user_name WHERE s.digest=%s AND s.expires_at>%s",
            (digest, now),
        )
        return SessionRecord(digest=row[0], user=row[1], created_at=row[2], expires_at=row[3]) if row else None

    async def delete_session(self, digest: str) -> None:
        await self._count("DELETE FROM oauth_sessions WHERE digest=%s", (digest,))

    async def put_link(self, link: LinkRecord) -> None:
        await self._count(
            "INSERT INTO oauth_links (digest, user_name, expires_at) VALUES (%s, %s, %s)",
            (link.digest, link.user, link.expires_at),
        )

    async def redeem_link(self, digest: str, now: float) -> LinkRecord | None:
        row = await self._row(
            "UPDATE oauth_links SET used_at=%s WHERE digest=%s AND used_at IS NULL AND expires_at>%s "
            "AND user_name IN (SELECT name FROM oauth_users) RETURNING user_name, expires_at",
            (now, digest, now),
        )
        return LinkRecord(digest=digest, user=row[0], expires_at=row[1], used_at=now) if row else None

    # --- failed sign-ins -----------------------------------------------------------------------------------------

    async def get_failures(self, key: str) -> FailureRecord:
        row = await self._row("SELECT count, locked_until FROM oauth_failures WHERE key=%s", (key,))
        return FailureRecord(key=key, count=row[0], locked_until=row[1]) if row else FailureRecord(key=key)

    async def record_failure(self, key: str, *, limit: int, lockout: float, now: float) -> FailureRecord:
        # One upsert: the row is locked while it is counted, so failures on several replicas at once all count.
        row = await self._row(
            "INSERT INTO oauth_failures AS f (key, count, locked_until) VALUES (%(key)s, "
            "CASE WHEN 1 >= %(limit)s THEN 0 ELSE 1 END, CASE WHEN 1 >= %(limit)s THEN %(until)s ELSE 0 END) "
            "ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN f.count + 1 >= %(limit)s THEN 0 ELSE f.count + 1 END, "
            "locked_until = CASE WHEN f.count + 1 >= %(limit)s THEN greatest(f.locked_until, %(until)s) "
            "ELSE f.locked_until END "
            "RETURNING count, locked_until",
            {"key": key, "limit": limit, "until": now + lockout},
        )
        if row is None:
            raise RuntimeError("the failed sign-in upsert returned no row")
        return FailureRecord(key=key, count=row[0], locked_until=row[1])

    async def clear_failures(self, key: str) -> None:
        await self._count("DELETE FROM oauth_failures WHERE key=%s", (key,))

    async def purge(self, now: float) -> int:
        async with self.store.pool.connection() as conn, conn.transaction():
            locked = await (await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (PURGE_LOCK,))).fetchone()
            if not locked or not locked[0]:
                return 0  # another replica is purging right now
            removed = 0
            for sql, args in purge_statements(now, "%s"):
                removed += (await conn.execute(sql, args)).rowcount
        return removed
