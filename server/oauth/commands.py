"""The command-line shape of `genmcp users | clients | tokens | auth link` (`server.oauth.cli` runs them).

Kept apart, with no heavy import, because `genmcp` builds its whole parser on every start (`serve --stdio` too).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

__all__ = ["COMMANDS", "add_commands"]

COMMANDS = ("users", "clients", "tokens", "auth")
_ALL_SCOPES = "genmcp:read genmcp:write genmcp:spend"


def add_commands(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the commands to `genmcp`'s sub-command parser."""
    users = commands.add_parser("users", help="people who may sign in to the built-in authorization server")
    user_actions = users.add_subparsers(dest="action", required=True)
    add = user_actions.add_parser("add", help="add a user (asks for a password)")
    common(add)
    add.add_argument("name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--no-password", action="store_true", help="sign in only with one-time links")
    password = user_actions.add_parser("passwd", help="set a user's password")
    common(password)
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    remove = user_actions.add_parser("remove", help="remove a user, revoking their tokens and sign-ins")
    common(remove)
    remove.add_argument("name")
    common(user_actions.add_parser("list", help="list users"))

    clients = commands.add_parser("clients", help="OAuth clients (pre-registered, registered, or by metadata document)")
    client_actions = clients.add_subparsers(dest="action", required=True)
    add_client = client_actions.add_parser("add", help="pre-register a client; prints its id (and secret, once)")
    common(add_client)
    add_client.add_argument("name", help="the name shown on the consent page")
    add_client.add_argument("--redirect-uri", action="append", required=True, help="repeat for several")
    add_client.add_argument("--public", action="store_true", help="no client secret (a native app or a browser)")
    add_client.add_argument("--scope", default=_ALL_SCOPES, help="space-separated (default: all)")
    remove_client = client_actions.add_parser("remove", help="remove a client, revoking its tokens")
    common(remove_client)
    remove_client.add_argument("client_id")
    common(client_actions.add_parser("list", help="list clients"))

    tokens = commands.add_parser("tokens", help="what was granted to which client (and revoke it)")
    token_actions = tokens.add_subparsers(dest="action", required=True)
    listing = token_actions.add_parser("list", help="grants: user, client, scopes, resource, last use")
    common(listing)
    listing.add_argument("--user", help="only this user's")
    listing.add_argument("--all", action="store_true", help="include revoked grants")
    listing.add_argument("--json", action="store_true", help="print JSON records")
    revoke = token_actions.add_parser("revoke", help="revoke a grant (its access and refresh tokens)")
    common(revoke)
    revoke.add_argument("grant", nargs="?", help="the grant id from `genmcp tokens list`")
    revoke.add_argument("--user", help="every grant of this user")
    revoke.add_argument("--client", help="every grant of this client")

    auth = commands.add_parser("auth", help="one-time sign-in links for the built-in authorization server")
    auth_actions = auth.add_subparsers(dest="action", required=True)
    link = auth_actions.add_parser("link", help="print a one-time sign-in link for a user")
    common(link)
    link.add_argument("user")
    link.add_argument("--minutes", type=int, help="how long it is valid (default: auth.builtin.link_seconds)")
