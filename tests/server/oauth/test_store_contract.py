"""The `OAuthStore` contract, run against every implementation (SQLite today; PostgreSQL joins the parameter list
when the hosted-mode store lands): single-use things are spent once, revocation reaches every token of a grant,
removing a user or a client revokes what it was granted, and expired records are not returned."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

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

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0
IMPLEMENTATIONS: dict[str, Callable[[Path], OAuthStore]] = {
    "sqlite": lambda tmp: SqliteOAuthStore(tmp / "jobs.sqlite3")
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OAuthStore]:
    implementation = IMPLEMENTATIONS[request.param](tmp_path)
    await implementation.open()
    try:
        yield implementation
    finally:
        await implementation.close()


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
