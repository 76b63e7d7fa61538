"""The `OAuthStore` contract, run against every implementation — SQLite (the registry's file) and PostgreSQL (a
real server, a fresh database per test): single-use things are spent once, even by two replicas racing; revocation
reaches every token of a grant and every replica; removing a user or a client revokes what it was granted; failed
sign-ins are counted by every replica together; expired records are not returned.

"Another replica" is a second store object on the same file or database (its own connection or pool).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import anyio
import psycopg
import pytest

from server.oauth.pg_store import PostgresOAuthStore
from server.oauth.server import open_store
from server.oauth.sqlite_store import MIGRATIONS, SqliteOAuthStore
from server.oauth.store import (
    ClientRecord,
    CodeRecord,
    GrantRecord,
    LinkRecord,
    OAuthStore,
    PendingRequest,
    SessionRecord,
    TokenRecord,
    UserExists,
    UserRecord,
)
from server.store.migrations import POSTGRES
from server.store.postgres import PostgresStore
from tests.harness.settings import build_settings

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0
T = TypeVar("T")


@dataclass(frozen=True)
class Place:
    """Where one test's store lives: a temporary folder, and (for PostgreSQL) a fresh database."""

    tmp: Path
    url: str = ""


IMPLEMENTATIONS: dict[str, Callable[[Place], OAuthStore]] = {
    "sqlite": lambda place: SqliteOAuthStore(place.tmp / "jobs.sqlite3"),
    "postgres": lambda place: PostgresOAuthStore(PostgresStore(place.url, pool_size=4), owned=True),
}
NEEDS_POSTGRES = {"postgres"}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def place(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Place]:
    url = request.getfixturevalue("postgres_url") if request.param in NEEDS_POSTGRES else ""
    return request.param, Place(tmp_path, url)


@pytest.fixture
async def store(place: tuple[str, Place]) -> AsyncIterator[OAuthStore]:
    name, where = place
    implementation = IMPLEMENTATIONS[name](where)
    await implementation.open()
    try:
        yield implementation
    finally:
        await implementation.close()


@pytest.fixture
async def replica(place: tuple[str, Place], store: OAuthStore) -> AsyncIterator[OAuthStore]:
    """The same store as seen by another replica (opened after `store`)."""
    name, where = place
    other = IMPLEMENTATIONS[name](where)
    await other.open()
    try:
        yield other
    finally:
        await other.close()


async def _race(*calls: Callable[[], Awaitable[T]]) -> list[T]:
    """Run `calls` at once; their answers in order."""
    answers: dict[int, T] = {}

    async def run(index: int, call: Callable[[], Awaitable[T]]) -> None:
        answers[index] = await call()

    async with anyio.create_task_group() as group:
        for index, call in enumerate(calls):
            group.start_soon(run, index, call)
    return [answers[index] for index in range(len(calls))]


def _grant(user: str = "alice", client: str = "client-1") -> GrantRecord:
    return GrantRecord(user=user, client_id=client, scopes=["genmcp:read"], resource="https://x/mcp", created_at=NOW)


def _tokens(grant: GrantRecord, tag: str) -> list[TokenRecord]:
    return [
        TokenRecord(digest=f"at-{tag}", grant_id=grant.id, kind="access", expires_at=NOW + 3600, created_at=NOW),
        TokenRecord(digest=f"rt-{tag}", grant_id=grant.id, kind="refresh", expires_at=NOW + 86400, created_at=NOW),
    ]


def _code(digest: str = "code-1", expires_at: float = NOW + 300) -> CodeRecord:
    return CodeRecord(
        digest=digest,
        client_id="client-1",
        user="alice",
        scopes=["genmcp:read"],
        resource="https://x/mcp",
        redirect_uri="http://127.0.0.1/cb",
        redirect_uri_provided_explicitly=True,
        code_challenge="c" * 43,
        expires_at=expires_at,
    )


async def test_users_are_added_once_listed_and_their_password_replaced(store: OAuthStore) -> None:
    await store.add_user(UserRecord(name="alice", password_hash="h1", created_at=NOW))
    await store.add_user(UserRecord(name="bob", created_at=NOW))
    with pytest.raises(UserExists):
        await store.add_user(UserRecord(name="alice", password_hash="other", created_at=NOW))
    assert [u.name for u in await store.list_users()] == ["alice", "bob"]
    assert await store.set_password("alice", "h2")
    assert not await store.set_password("carol", "h3")
    user = await store.get_user("alice")
    assert user is not None
    assert user.password_hash == "h2"
    assert await store.get_user("carol") is None


async def test_removing_a_user_revokes_their_grants_sessions_and_links(store: OAuthStore) -> None:
    await store.add_user(UserRecord(name="alice", created_at=NOW))
    grant = _grant()
    await store.put_code(_code())
    assert await store.redeem_code("code-1", grant, _tokens(grant, "1"), NOW)
    await store.put_session(SessionRecord(digest="s1", user="alice", created_at=NOW, expires_at=NOW + 60))
    await store.put_link(LinkRecord(digest="l1", user="alice", expires_at=NOW + 60))
    assert await store.remove_user("alice", NOW + 1)
    assert not await store.remove_user("alice", NOW + 1)
    found = await store.get_token("at-1")
    assert found is not None
    assert found[1].revoked_at == NOW + 1
    assert await store.get_session("s1", NOW) is None
    assert await store.redeem_link("l1", NOW) is None


async def test_clients_are_stored_listed_and_removing_one_revokes_its_grants(store: OAuthStore) -> None:
    record = ClientRecord(
        client_id="client-1", origin="registered", metadata={"redirect_uris": ["http://127.0.0.1/cb"]}, created_at=NOW
    )
    await store.put_client(record)
    await store.put_client(record.model_copy(update={"secret_digest": "d"}))  # replaced, not duplicated
    assert [c.client_id for c in await store.list_clients()] == ["client-1"]
    fetched = await store.get_client("client-1")
    assert fetched is not None
    assert fetched.secret_digest == "d"
    assert fetched.metadata == record.metadata
    grant = _grant()
    await store.put_code(_code())
    assert await store.redeem_code("code-1", grant, _tokens(grant, "1"), NOW)
    assert await store.remove_client("client-1", NOW + 5)
    assert await store.get_client("client-1") is None
    assert await store.list_grants() == []


async def test_a_pending_request_is_taken_once_and_not_after_it_expires(store: OAuthStore) -> None:
    request = PendingRequest(
        digest="r1",
        client_id="client-1",
        redirect_uri="http://127.0.0.1/cb",
        redirect_uri_provided_explicitly=True,
        scopes=["genmcp:read"],
        code_challenge="c" * 43,
        resource="https://x/mcp",
        expires_at=NOW + 60,
    )
    await store.put_request(request)
    await store.put_request(request.model_copy(update={"digest": "r2"}))
    assert await store.get_request("r1", NOW) == request
    assert await store.take_request("r1", NOW) == request
    assert await store.take_request("r1", NOW) is None
    assert await store.get_request("r2", NOW + 61) is None
    assert await store.take_request("r2", NOW + 61) is None


async def test_a_code_is_redeemed_once_and_never_after_it_expires(store: OAuthStore) -> None:
    await store.put_code(_code())
    await store.put_code(_code("code-2", expires_at=NOW - 1))
    first, second = _grant(), _grant()
    assert await store.redeem_code("code-1", first, _tokens(first, "1"), NOW)
    assert not await store.redeem_code("code-1", second, _tokens(second, "2"), NOW)
    assert not await store.redeem_code("code-2", second, _tokens(second, "3"), NOW)
    used = await store.get_code("code-1")
    assert used is not None
    assert used.used_at == NOW
    assert used.grant_id == first.id
    assert [g.id for g in await store.list_grants()] == [first.id]
    assert await store.get_token("at-2") is None


async def test_a_refresh_token_rotates_once_and_not_on_a_revoked_grant(store: OAuthStore) -> None:
    grant = _grant()
    await store.put_code(_code())
    assert await store.redeem_code("code-1", grant, _tokens(grant, "1"), NOW)
    assert await store.rotate_refresh("rt-1", _tokens(grant, "2"), NOW + 1)
    assert not await store.rotate_refresh("rt-1", _tokens(grant, "3"), NOW + 2)
    assert not await store.rotate_refresh("at-2", _tokens(grant, "4"), NOW + 2)  # an access token is no refresh token
    found = await store.get_token("rt-1")
    assert found is not None
    assert found[0].used_at == NOW + 1
    assert await store.revoke_grant(grant.id, NOW + 3)
    assert not await store.revoke_grant(grant.id, NOW + 4)
    assert not await store.rotate_refresh("rt-2", _tokens(grant, "5"), NOW + 5)
    token, stored = await store.get_token("at-2") or (None, None)
    assert token is not None
    assert stored is not None
    assert stored.revoked_at == NOW + 3


async def test_grants_are_listed_per_user_and_revoked_in_bulk(store: OAuthStore) -> None:
    grants = [_grant("alice", "c1"), _grant("alice", "c2"), _grant("bob", "c1")]
    for n, grant in enumerate(grants):
        await store.put_code(_code(f"code-{n}"))
        assert await store.redeem_code(f"code-{n}", grant, _tokens(grant, str(n)), NOW + n)
    assert {g.id for g in await store.list_grants(user="alice")} == {grants[0].id, grants[1].id}
    assert await store.revoke_grants(client_id="c1", now=NOW + 10) == 2
    assert [g.id for g in await store.list_grants()] == [grants[1].id]
    assert len(await store.list_grants(include_revoked=True)) == 3
    await store.touch_grant(grants[1].id, NOW + 20)
    assert (await store.list_grants())[0].last_used_at == NOW + 20


async def test_sessions_end_when_they_expire_or_are_deleted(store: OAuthStore) -> None:
    await store.add_user(UserRecord(name="alice", created_at=NOW))
    await store.put_session(SessionRecord(digest="s1", user="alice", created_at=NOW, expires_at=NOW + 60))
    await store.put_session(SessionRecord(digest="s2", user="ghost", created_at=NOW, expires_at=NOW + 60))
    assert (await store.get_session("s1", NOW + 59)) is not None
    assert await store.get_session("s1", NOW + 60) is None
    assert await store.get_session("s2", NOW) is None  # its user does not exist
    await store.delete_session("s1")
    assert await store.get_session("s1", NOW) is None


async def test_a_link_works_once_before_it_expires(store: OAuthStore) -> None:
    await store.add_user(UserRecord(name="alice", created_at=NOW))
    await store.put_link(LinkRecord(digest="l1", user="alice", expires_at=NOW + 60))
    await store.put_link(LinkRecord(digest="l2", user="alice", expires_at=NOW + 60))
    link = await store.redeem_link("l1", NOW)
    assert link is not None
    assert link.user == "alice"
    assert await store.redeem_link("l1", NOW) is None
    assert await store.redeem_link("l2", NOW + 60) is None


async def test_failures_lock_a_key_at_the_limit_and_clear(store: OAuthStore) -> None:
    for _ in range(2):
        record = await store.record_failure("user:alice", limit=3, lockout=300, now=NOW)
        assert record.locked_until == 0
    record = await store.record_failure("user:alice", limit=3, lockout=300, now=NOW)
    assert record.locked_until == NOW + 300
    assert (await store.get_failures("user:alice")).locked_until == NOW + 300
    await store.clear_failures("user:alice")
    assert (await store.get_failures("user:alice")).locked_until == 0
    assert (await store.get_failures("user:nobody")).count == 0


async def test_purge_removes_what_expired_and_keeps_the_rest(store: OAuthStore) -> None:
    await store.add_user(UserRecord(name="alice", created_at=NOW))
    await store.put_session(SessionRecord(digest="old", user="alice", created_at=NOW, expires_at=NOW + 1))
    await store.put_session(SessionRecord(digest="new", user="alice", created_at=NOW, expires_at=NOW + 1000))
    grant = _grant()
    await store.put_code(_code())
    assert await store.redeem_code("code-1", grant, _tokens(grant, "1"), NOW)
    assert await store.purge(NOW + 10) >= 1
    assert await store.get_session("new", NOW + 10) is not None
    assert await store.get_token("at-1") is not None


async def test_sqlite_migrations_run_once_and_reopening_changes_nothing(tmp_path: Path) -> None:
    first, second = SqliteOAuthStore(tmp_path / "db"), SqliteOAuthStore(tmp_path / "db")
    await first.open()
    await first.add_user(UserRecord(name="alice", created_at=NOW))
    await second.open()  # a second process opening the same registry
    assert second.schema_version() == MIGRATIONS[-1][0]
    assert [u.name for u in await second.list_users()] == ["alice"]
    await first.close()
    await second.close()
    with sqlite3.connect(tmp_path / "db") as db:
        versions = [row[0] for row in db.execute("SELECT version FROM oauth_migrations")]
    assert versions == [version for version, _ in MIGRATIONS]


# --- two replicas on one store -----------------------------------------------------------------------------------


async def test_two_replicas_racing_spend_each_single_use_thing_once(store: OAuthStore, replica: OAuthStore) -> None:
    await store.add_user(UserRecord(name="alice", created_at=NOW))
    await store.put_code(_code())
    grants = [_grant() for _ in range(6)]
    redeemed = await _race(
        *(
            (lambda s=side, g=grant, n=n: s.redeem_code("code-1", g, _tokens(g, f"c{n}"), NOW))
            for n, (side, grant) in enumerate(zip([store, replica] * 3, grants, strict=True))
        )
    )
    assert sorted(redeemed) == [False] * 5 + [True]
    winner = grants[redeemed.index(True)]
    assert [g.id for g in await replica.list_grants()] == [winner.id]

    rotated = await _race(
        *(
            (lambda s=side, n=n: s.rotate_refresh(f"rt-c{redeemed.index(True)}", _tokens(winner, f"r{n}"), NOW + 1))
            for n, side in enumerate([store, replica] * 3)
        )
    )
    assert sorted(rotated) == [False] * 5 + [True]

    await store.put_link(LinkRecord(digest="l1", user="alice", expires_at=NOW + 60))
    links = await _race(*((lambda s=side: s.redeem_link("l1", NOW)) for side in [replica, store] * 3))
    assert [link is not None for link in links].count(True) == 1

    request = PendingRequest(
        digest="r1",
        client_id="client-1",
        redirect_uri="http://127.0.0.1/cb",
        redirect_uri_provided_explicitly=True,
        scopes=["genmcp:read"],
        code_challenge="c" * 43,
        resource="https://x/mcp",
        expires_at=NOW + 60,
    )
    await replica.put_request(request)
    taken = await _race(*((lambda s=side: s.take_request("r1", NOW)) for side in [store, replica] * 3))
    assert taken.count(request) == 1
    assert taken.count(None) == 5


async def test_what_one_replica_writes_the_other_reads_at_once(store: OAuthStore, replica: OAuthStore) -> None:
    await store.add_user(UserRecord(name="alice", password_hash="h1", created_at=NOW))
    await store.put_client(
        ClientRecord(client_id="client-1", origin="registered", metadata={"client_name": "A"}, created_at=NOW)
    )
    await store.put_session(SessionRecord(digest="s1", user="alice", created_at=NOW, expires_at=NOW + 60))
    grant = _grant()
    await store.put_code(_code())
    assert await replica.redeem_code("code-1", grant, _tokens(grant, "1"), NOW)
    user = await replica.get_user("alice")
    client = await replica.get_client("client-1")
    assert (user.password_hash if user else None, client.metadata if client else None) == ("h1", {"client_name": "A"})
    assert await replica.get_session("s1", NOW) is not None
    assert await store.revoke_grant(grant.id, NOW + 1)  # revoked on one replica ...
    found = await replica.get_token("at-1")  # ... every token of it, on the other
    assert found is not None
    assert found[1].revoked_at == NOW + 1
    assert not await replica.rotate_refresh("rt-1", _tokens(grant, "2"), NOW + 2)
    await replica.delete_session("s1")  # a sign-out on one replica ends the session everywhere
    assert await store.get_session("s1", NOW) is None


async def test_failed_sign_ins_on_every_replica_count_together(store: OAuthStore, replica: OAuthStore) -> None:
    sides = [store, replica] * 10
    records = await _race(
        *((lambda s=side: s.record_failure("user:alice", limit=20, lockout=300, now=NOW)) for side in sides)
    )
    # Twenty failures at once, half on each replica: each counted exactly once, the twentieth locks the name.
    assert sorted(record.count for record in records) == list(range(20))
    locking = [record for record in records if record.count == 0]
    assert [record.locked_until for record in locking] == [NOW + 300]
    assert (await store.get_failures("user:alice")).locked_until == NOW + 300
    assert (await replica.get_failures("user:alice")).locked_until == NOW + 300
    await replica.clear_failures("user:alice")
    assert (await store.get_failures("user:alice")).locked_until == 0


# --- PostgreSQL: one schema, one pool ------------------------------------------------------------------------------


async def test_postgres_oauth_tables_come_with_the_stores_migrations(postgres_url: str) -> None:
    first = PostgresOAuthStore(PostgresStore(postgres_url), owned=True)
    second = PostgresOAuthStore(PostgresStore(postgres_url), owned=True)
    await _race(first.open, second.open)  # two replicas starting at the same instant on an empty database
    try:
        assert await first.schema_version() == POSTGRES[-1].version
        await first.add_user(UserRecord(name="alice", created_at=NOW))
        assert [u.name for u in await second.list_users()] == ["alice"]
    finally:
        await first.close()
        await second.close()
    with psycopg.connect(postgres_url) as conn:
        migrations = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
        tables = {
            row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'oauth%%'").fetchall()
        }
    assert migrations == [(m.version, m.name) for m in POSTGRES]
    assert "built-in authorization server" in dict(migrations).values()
    assert tables == {
        "oauth_users",
        "oauth_clients",
        "oauth_requests",
        "oauth_codes",
        "oauth_grants",
        "oauth_tokens",
        "oauth_sessions",
        "oauth_links",
        "oauth_failures",
    }


async def test_open_store_follows_the_store_url_and_shares_the_runtimes_pool(tmp_path: Path, postgres_url: str) -> None:
    assert isinstance(open_store(build_settings(tmp_path)), SqliteOAuthStore)
    settings = build_settings(tmp_path, store={"url": postgres_url})
    own = open_store(settings)
    assert isinstance(own, PostgresOAuthStore)
    assert own.owned
    runtime_store = PostgresStore(postgres_url)
    shared = open_store(settings, runtime_store)
    assert isinstance(shared, PostgresOAuthStore)
    assert shared.store is runtime_store
    await runtime_store.open()
    try:
        await shared.open()
        await shared.add_user(UserRecord(name="alice", created_at=NOW))
        await shared.close()  # the runtime's pool stays open: the runtime closes it
        assert await runtime_store.schema_version() == POSTGRES[-1].version
        await own.open()
        assert [u.name for u in await own.list_users()] == ["alice"]
        await own.close()
        assert own.store.pool.closed
    finally:
        await runtime_store.close()
    assert not (tmp_path / "jobs.sqlite3").exists()  # nothing of it went to a SQLite file
