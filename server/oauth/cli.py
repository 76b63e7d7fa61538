"""`genmcp users | clients | tokens | auth link`: the operator's side of the built-in authorization server.

They work on the store directly — the one `[store] url` names: the registry's SQLite file, or the PostgreSQL database
every replica shares — whether or not a server is running.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
import uuid
from datetime import UTC, datetime

from mcp.shared.auth import OAuthClientMetadata
from pydantic import ValidationError

from server.clock import SystemClock
from server.config import Settings
from server.errors import ConfigError
from server.oauth import credentials, scopes
from server.oauth.clients import check_redirect_uris
from server.oauth.server import issuer_of, open_store
from server.oauth.store import ClientRecord, LinkRecord, OAuthStore, UserExists, UserRecord

__all__ = ["run"]

_USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 10


def _when(timestamp: float | None) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M") if timestamp else "-"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise ConfigError("the two passwords differ; nothing was changed.")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"a password needs at least {MIN_PASSWORD} characters; nothing was changed.")
    return password


async def _users(store: OAuthStore, args: argparse.Namespace, now: float) -> int:
    if args.action == "list":
        users = await store.list_users()
        for user in users:
            how = "password, links" if user.password_hash else "links only"
            print(f"{user.name:<24} {how:<16} added {_when(user.created_at)}")
        if not users:
            print("no users (add one: genmcp users add <name>)")
        return 0
    name = args.name
    if args.action == "remove":
        if not await store.remove_user(name, now):
            raise ConfigError(f"there is no user {name!r}.")
        print(f"removed {name}; their tokens are revoked and their sign-ins ended")
        return 0
    if not _USER_NAME.match(name):
        raise ConfigError("a user name is 1–64 letters, digits and . _ @ - (starting with a letter or digit).")
    if args.action == "passwd":
        if await store.get_user(name) is None:
            raise ConfigError(f"there is no user {name!r}.")
        await store.set_password(name, await credentials.hash_password(_read_password(args.password_stdin)))
        print(f"password of {name} changed")
        return 0
    hashed = None if args.no_password else await credentials.hash_password(_read_password(args.password_stdin))
    try:
        await store.add_user(UserRecord(name=name, password_hash=hashed, created_at=now))
    except UserExists as exc:
        raise ConfigError(f"a user named {name!r} exists already.") from exc
    print(f"added {name}" + (" (one-time links only: genmcp auth link " + name + ")" if hashed is None else ""))
    return 0


async def _clients(store: OAuthStore, args: argparse.Namespace, now: float) -> int:
    if args.action == "list":
        for client in await store.list_clients():
            meta = client.metadata
            kind = "confidential" if client.secret_digest else "public"
            print(f"{client.client_id}  {meta.get('client_name') or '-'}  {client.origin}, {kind}")
            print(f"    redirect: {' '.join(meta.get('redirect_uris') or [])}")
        return 0
    if args.action == "remove":
        if not await store.remove_client(args.client_id, now):
            raise ConfigError(f"there is no client {args.client_id!r}.")
        print(f"removed {args.client_id}; its tokens are revoked")
        return 0
    try:
        metadata = OAuthClientMetadata(
            redirect_uris=args.redirect_uri,
            client_name=args.name,
            scope=" ".join(scopes.known(args.scope.split())) or None,
            token_endpoint_auth_method="none" if args.public else "client_secret_basic",
        )
    except ValidationError as exc:
        raise ConfigError(f"invalid client: {exc.errors()[0]['msg']}") from None
    from mcp.server.auth.provider import RegistrationError

    try:
        check_redirect_uris(metadata.redirect_uris or [])
    except RegistrationError as exc:
        raise ConfigError(str(exc.error_description)) from None
    client_id = f"genmcp-{uuid.uuid4().hex[:16]}"
    secret = None if args.public else credentials.mint("cs")
    await store.put_client(
        ClientRecord(
            client_id=client_id,
            origin="operator",
            metadata=metadata.model_dump(mode="json", exclude_none=True),
            secret_digest=credentials.digest(secret) if secret else None,
            created_at=now,
        )
    )
    print(f"client_id:     {client_id}")
    if secret:
        print(f"client_secret: {secret}\n(shown once: genmcp keeps only its digest)")
    return 0


async def _tokens(store: OAuthStore, args: argparse.Namespace, now: float) -> int:
    if args.action == "list":
        grants = await store.list_grants(user=args.user, include_revoked=args.all)
        if args.json:
            for grant in grants:
                print(grant.model_dump_json())
            return 0
        for grant in grants:
            client = await store.get_client(grant.client_id)
            name = (client.metadata.get("client_name") if client else None) or grant.client_id
            state = (
                f"revoked {_when(grant.revoked_at)}" if grant.revoked_at else f"last used {_when(grant.last_used_at)}"
            )
            print(f"{grant.id}  {grant.user:<16} {name[:28]:<28} {' '.join(grant.scopes):<40} {state}")
            print(f"    resource {grant.resource}, granted {_when(grant.created_at)}")
        if not grants:
            print("no grants")
        return 0
    if args.grant:
        if not await store.revoke_grant(args.grant, now):
            raise ConfigError(f"there is no live grant {args.grant!r} (see genmcp tokens list).")
        print(f"revoked {args.grant}")
        return 0
    if not (args.user or args.client):
        raise ConfigError("name a grant, or --user and/or --client.")
    count = await store.revoke_grants(user=args.user, client_id=args.client, now=now)
    print(f"revoked {count} grant(s)")
    return 0


async def _link(settings: Settings, store: OAuthStore, args: argparse.Namespace, now: float) -> int:
    if "link" not in settings.auth.builtin.sign_in:
        raise ConfigError('one-time links are turned off (auth.builtin.sign_in does not include "link").')
    if await store.get_user(args.user) is None:
        raise ConfigError(f"there is no user {args.user!r} (add one: genmcp users add {args.user}).")
    seconds = args.minutes * 60 if args.minutes else settings.auth.builtin.link_seconds
    if not 60 <= seconds <= 7 * 86_400:
        raise ConfigError("a link is valid between 1 minute and 7 days.")
    code = credentials.mint("sl")
    await store.put_link(LinkRecord(digest=credentials.digest(code), user=args.user, expires_at=now + seconds))
    print(f"One-time sign-in link for {args.user} (works once, for {seconds // 60} minutes):")
    print(f"  {issuer_of(settings)}/oauth/link/{code}")
    print("Or paste it (or this code) into the sign-in page's one-time code field:")
    print(f"  {code}")
    if settings.auth.mode != "builtin":
        print('note: [auth] mode is not "builtin": the sign-in page is served only in that mode.', file=sys.stderr)
    return 0


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run one of `COMMANDS`."""
    store = open_store(settings)
    await store.open()
    now = SystemClock().wall()
    try:
        if args.command == "users":
            return await _users(store, args, now)
        if args.command == "clients":
            return await _clients(store, args, now)
        if args.command == "tokens":
            return await _tokens(store, args, now)
        return await _link(settings, store, args, now)
    finally:
        await store.close()
