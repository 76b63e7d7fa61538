"""Artifacts in PostgreSQL, for replicas that share no disk: any replica serves `/artifacts/<id>` and
`artifact://<id>`. Expired rows are deleted by one replica at a time (a transaction-scoped advisory lock: a
replica that finds it taken skips that round)."""

from __future__ import annotations

from collections.abc import Callable

from server.artifacts import Artifact, new_artifact, valid_id
from server.store.postgres import PostgresStore

__all__ = ["PostgresArtifactStore"]

CLEANUP_LOCK = 0x67656E6D6370_02
"""The advisory lock key held while deleting expired artifacts ("genmcp", 2)."""


class PostgresArtifactStore:
    """Artifact bytes and metadata in the `artifacts` table of the shared store (its pool, its migrations)."""

    def __init__(
        self,
        store: PostgresStore,
        *,
        ttl_seconds: float,
        clock: Callable[[], float],
        redact: Callable[[str], str] = str,
    ) -> None:
        self.store = store
        self.ttl = ttl_seconds
        self.wall = clock
        self.redact = redact

    async def open(self) -> None:
        await self.store.open()  # the table comes with the store's migrations

    async def close(self) -> None:
        """The pool is the job store's: it closes it."""

    async def put(self, data: bytes, *, mime_type: str, filename: str, parent: str | None = None) -> Artifact:
        artifact = new_artifact(
            data,
            mime_type=mime_type,
            filename=filename,
            parent=parent,
            now=self.wall(),
            ttl=self.ttl,
            redact=self.redact,
        )
        async with self.store.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO artifacts (id, mime_type, filename, size, created_at, expires_at, parent, data) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    artifact.id,
                    artifact.mime_type,
                    artifact.filename,
                    artifact.size,
                    artifact.created_at,
                    artifact.expires_at,
                    artifact.parent,
                    data,
                ),
            )
        return artifact

    async def get(self, artifact_id: str) -> Artifact | None:
        if not valid_id(artifact_id):
            return None
        async with self.store.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, mime_type, filename, size, created_at, expires_at, parent FROM artifacts "
                "WHERE id=%s AND expires_at >= %s",
                (artifact_id, self.wall()),
            )
            row = await cursor.fetchone()
        if row is None:
            return None
        keys = ("id", "mime_type", "filename", "size", "created_at", "expires_at", "parent")
        return Artifact.model_validate(dict(zip(keys, row, strict=True)))

    async def read(self, artifact: Artifact) -> bytes:
        async with self.store.pool.connection() as conn:
            cursor = await conn.execute("SELECT data FROM artifacts WHERE id=%s", (artifact.id,))
            row = await cursor.fetchone()
        if row is None:
            raise FileNotFoundError(f"artifact {artifact.id} is gone")
        return bytes(row[0])

    async def cleanup(self) -> int:
        async with self.store.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (CLEANUP_LOCK,))
            row = await cursor.fetchone()
            if not row or not row[0]:
                return 0
            deleted = await conn.execute("DELETE FROM artifacts WHERE expires_at < %s", (self.wall(),))
            return deleted.rowcount
