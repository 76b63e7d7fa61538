"""The stores' schemas as numbered migrations, applied in order at start-up and recorded, never edited once shipped.

To change a schema, append a migration (the next number) to the backend's list, and to the other backend's when it
concerns both. SQLite records the version in `PRAGMA user_version`; PostgreSQL in the `schema_migrations` table,
under an advisory lock so that replicas starting at the same instant apply each migration once.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.errors import ConfigError

__all__ = ["MIGRATION_LOCK", "POSTGRES", "SQLITE", "Migration", "check_known"]

MIGRATION_LOCK = 0x67656E6D6370_01
"""The PostgreSQL advisory lock key held while migrating ("genmcp", 1)."""


@dataclass(frozen=True)
class Migration:
    """One schema step: its number, what it does, and its statements (run in one transaction)."""

    version: int
    name: str
    statements: tuple[str, ...]


SQLITE: tuple[Migration, ...] = (
    Migration(
        1,
        "jobs and balances",
        (
            # IF NOT EXISTS: registries written before versioning already have these tables.
            """CREATE TABLE IF NOT EXISTS jobs (
                id TEXT PRIMARY KEY,
                provider TEXT NOT NULL,
                upstream_id TEXT,
                status TEXT NOT NULL,
                caller TEXT,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                record TEXT NOT NULL
            )""",
            "CREATE UNIQUE INDEX IF NOT EXISTS jobs_upstream ON jobs (provider, upstream_id) "
            "WHERE upstream_id IS NOT NULL",
            "CREATE INDEX IF NOT EXISTS jobs_recent ON jobs (created_at DESC)",
            "CREATE TABLE IF NOT EXISTS balances (provider TEXT PRIMARY KEY, remaining REAL NOT NULL, "
            "as_of REAL NOT NULL)",
        ),
    ),
    Migration(
        2,
        "job leases",
        (
            "ALTER TABLE jobs ADD COLUMN lease_owner TEXT",
            "ALTER TABLE jobs ADD COLUMN lease_expires REAL",
            "CREATE INDEX jobs_leased ON jobs (lease_expires) WHERE lease_owner IS NOT NULL",
            "CREATE INDEX jobs_status ON jobs (status, updated_at)",
        ),
    ),
    Migration(
        3,
        "per-caller call counters",
        (
            "CREATE TABLE call_starts (caller TEXT NOT NULL, at REAL NOT NULL)",
            "CREATE INDEX call_starts_caller ON call_starts (caller, at)",
            "CREATE TABLE call_slots (id TEXT PRIMARY KEY, caller TEXT NOT NULL, expires_at REAL NOT NULL)",
            "CREATE INDEX call_slots_caller ON call_slots (caller)",
        ),
    ),
)

POSTGRES: tuple[Migration, ...] = (
    Migration(
        1,
        "jobs and balances",
        (
            """CREATE TABLE jobs (
                id text PRIMARY KEY,
                provider text NOT NULL,
                upstream_id text,
                status text NOT NULL,
                caller text,
                created_at double precision NOT NULL,
                updated_at double precision NOT NULL,
                record text NOT NULL,
                lease_owner text,
                lease_expires double precision
            )""",
            "CREATE UNIQUE INDEX jobs_upstream ON jobs (provider, upstream_id) WHERE upstream_id IS NOT NULL",
            "CREATE INDEX jobs_recent ON jobs (created_at DESC)",
            "CREATE INDEX jobs_status ON jobs (status, updated_at)",
            "CREATE INDEX jobs_leased ON jobs (lease_expires) WHERE lease_owner IS NOT NULL",
            "CREATE TABLE balances (provider text PRIMARY KEY, remaining double precision NOT NULL, "
            "as_of double precision NOT NULL)",
        ),
    ),
    Migration(
        2,
        "artifacts",
        (
            """CREATE TABLE artifacts (
                id text PRIMARY KEY,
                mime_type text NOT NULL,
                filename text NOT NULL,
                size bigint NOT NULL,
                created_at double precision NOT NULL,
                expires_at double precision NOT NULL,
                parent text,
                data bytea NOT NULL
            )""",
            "CREATE INDEX artifacts_expiry ON artifacts (expires_at)",
        ),
    ),
    Migration(
        3,
        "per-caller call counters",
        (
            "CREATE TABLE call_starts (caller text NOT NULL, at double precision NOT NULL)",
            "CREATE INDEX call_starts_caller ON call_starts (caller, at)",
            "CREATE TABLE call_slots (id text PRIMARY KEY, caller text NOT NULL, expires_at double precision NOT NULL)",
            "CREATE INDEX call_slots_caller ON call_slots (caller)",
            # One round trip per call, and per caller one admission at a time (the transaction's advisory lock).
            """CREATE FUNCTION genmcp_admit_call(
                p_caller text, p_slot text, p_now double precision, p_per_minute integer, p_concurrent integer,
                p_slot_until double precision
            ) RETURNS TABLE (refused text, retry_after double precision, running integer)
            LANGUAGE plpgsql AS $$
            DECLARE
                recent integer;
                oldest double precision;
                in_flight integer;
            BEGIN
                PERFORM pg_advisory_xact_lock(hashtextextended('genmcp.calls:' || p_caller, 0));
                DELETE FROM call_starts WHERE caller = p_caller AND at <= p_now - 60;
                DELETE FROM call_slots WHERE caller = p_caller AND expires_at < p_now;
                IF p_per_minute > 0 THEN
                    SELECT count(*), min(at) INTO recent, oldest FROM call_starts WHERE caller = p_caller;
                    IF recent >= p_per_minute THEN
                        RETURN QUERY SELECT 'rate'::text, oldest + 60 - p_now, 0;
                        RETURN;
                    END IF;
                END IF;
                IF p_concurrent > 0 THEN
                    SELECT count(*) INTO in_flight FROM call_slots WHERE caller = p_caller;
                    IF in_flight >= p_concurrent THEN
                        RETURN QUERY SELECT 'concurrency'::text, 0::double precision, in_flight;
                        RETURN;
                    END IF;
                    INSERT INTO call_slots (id, caller, expires_at) VALUES (p_slot, p_caller, p_slot_until);
                END IF;
                IF p_per_minute > 0 THEN
                    INSERT INTO call_starts (caller, at) VALUES (p_caller, p_now);
                END IF;
                RETURN QUERY SELECT NULL::text, 0::double precision, 0;
            END
            $$""",
        ),
    ),
    Migration(
        4,
        "spend ledger and pending saves",
        (
            """CREATE TABLE spend (
                id text PRIMARY KEY,
                day text NOT NULL,
                provider text NOT NULL,
                caller text NOT NULL,
                job text,
                amount double precision NOT NULL,
                known boolean NOT NULL,
                at double precision NOT NULL
            )""",
            "CREATE INDEX spend_day ON spend (day, provider, caller)",
            "CREATE INDEX spend_job ON spend (job) WHERE job IS NOT NULL",
            """CREATE TABLE saves (
                id text PRIMARY KEY,
                handle text NOT NULL,
                state text NOT NULL,
                created_at double precision NOT NULL,
                record text NOT NULL
            )""",
            "CREATE INDEX saves_handle ON saves (handle)",
            "CREATE INDEX saves_state ON saves (state)",
        ),
    ),
    Migration(
        5,
        "built-in authorization server",
        # `server.oauth.pg_store`: only digests of minted secrets and Argon2id hashes of passwords are kept.
        (
            "CREATE TABLE oauth_users (name text PRIMARY KEY, password_hash text, "
            "created_at double precision NOT NULL)",
            """CREATE TABLE oauth_clients (
                client_id text PRIMARY KEY,
                origin text NOT NULL,
                metadata jsonb NOT NULL,
                secret_digest text,
                secret_expires_at bigint,
                created_at double precision NOT NULL,
                fetched_at double precision
            )""",
            "CREATE TABLE oauth_requests (digest text PRIMARY KEY, record jsonb NOT NULL, "
            "expires_at double precision NOT NULL)",
            "CREATE TABLE oauth_codes (digest text PRIMARY KEY, record jsonb NOT NULL, "
            "expires_at double precision NOT NULL, used_at double precision, grant_id text)",
            """CREATE TABLE oauth_grants (
                id text PRIMARY KEY,
                user_name text NOT NULL,
                client_id text NOT NULL,
                scopes text[] NOT NULL,
                resource text NOT NULL,
                created_at double precision NOT NULL,
                last_used_at double precision,
                revoked_at double precision
            )""",
            "CREATE INDEX oauth_grants_user ON oauth_grants (user_name)",
            "CREATE INDEX oauth_grants_client ON oauth_grants (client_id)",
            """CREATE TABLE oauth_tokens (
                digest text PRIMARY KEY,
                grant_id text NOT NULL,
                kind text NOT NULL,
                scopes text[],
                expires_at double precision NOT NULL,
                created_at double precision NOT NULL,
                used_at double precision
            )""",
            "CREATE INDEX oauth_tokens_grant ON oauth_tokens (grant_id)",
            "CREATE TABLE oauth_sessions (digest text PRIMARY KEY, user_name text NOT NULL, "
            "created_at double precision NOT NULL, expires_at double precision NOT NULL)",
            "CREATE TABLE oauth_links (digest text PRIMARY KEY, user_name text NOT NULL, "
            "expires_at double precision NOT NULL, used_at double precision)",
            "CREATE TABLE oauth_failures (key text PRIMARY KEY, count integer NOT NULL, "
            "locked_until double precision NOT NULL)",
        ),
    ),
)


def check_known(applied: int, known: tuple[Migration, ...], where: str) -> None:
    """Refuse a store whose schema is newer than this genmcp (a newer replica migrated it)."""
    latest = known[-1].version
    if applied > latest:
        raise ConfigError(
            f"the store {where} has schema version {applied}, newer than this genmcp knows ({latest}); "
            "upgrade genmcp on this machine to the version the other replicas run."
        )
