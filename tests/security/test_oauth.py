"""OAuth 2.1 resource server: JWT access tokens checked against the issuer's JWKS (served by a real loopback HTTP app),
every way a token can be wrong, and the RFC 9728 metadata document that 401 answers point at.

genmcp runs in process (the case is about token checks, not the process); its JWKS fetch uses a real HTTP client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import types
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from providers import PROVIDERS
from providers.conceptviz.simulator import ConceptVizAccount, ConceptVizSimulator
from server.app import Runtime
from tests.harness.settings import build_settings
from tests.security.conftest import (
    CANARIES,
    IN_PROCESS,
    INITIALIZE,
    MCP_HEADERS,
    Leaks,
    SimHost,
    asgi_http,
    data,
    serving,
)

pytestmark = pytest.mark.anyio

ISSUER = "https://auth.example.test"
RESOURCE = f"{IN_PROCESS}/mcp"
METADATA = f"{IN_PROCESS}/.well-known/oauth-protected-resource/mcp"
SCOPE = "genmcp:use"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class Issuer:
    """An authorization server's signing keys, its JWKS on loopback, and how many times the JWKS was fetched."""

    rsa_key: rsa.RSAPrivateKey
    ec_key: ec.EllipticCurvePrivateKey
    stranger: rsa.RSAPrivateKey
    jwks_url: str
    fetches: list[float]

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": RESOURCE,
            "sub": "user-42",
            "client_id": "agent-app",
            "iat": now,
            "exp": now + 600,
            "scope": f"openid {SCOPE}",
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, *, key: Any = None, alg: str = "RS256", kid: str = "rsa-1", **changes: Any) -> str:
        return jwt.encode(self.claims(**changes), key or self.rsa_key, algorithm=alg, headers={"kid": kid})

    def public_pem(self) -> bytes:
        return self.rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    curve = ec.generate_private_key(ec.SECP256R1())
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing.public_key()))
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(curve.public_key()))
    keys = {"keys": [rsa_jwk | {"kid": "rsa-1", "use": "sig", "alg": "RS256"}, ec_jwk | {"kid": "ec-1", "use": "sig"}]}
    fetches: list[float] = []

    async def jwks(request: Request) -> Response:
        fetches.append(time.monotonic())
        return JSONResponse(keys)

    app = types.SimpleNamespace(app=Starlette(routes=[Route("/jwks.json", jwks)]), public_url="")
    with SimHost({"issuer": app}) as host:
        yield Issuer(signing, curve, stranger, f"{host.urls['issuer']}/jwks.json", fetches)


@pytest.fixture
async def app(tmp_path: Path, issuer: Issuer) -> AsyncIterator[ASGIApp]:
    sim = ConceptVizSimulator(accounts={CANARIES["conceptviz"]: ConceptVizAccount()}, job_seconds=5)
    settings = build_settings(
        tmp_path,
        providers={"conceptviz": {"api_key": CANARIES["conceptviz"], "base_url": "https://conceptviz.test/api/v1"}},
        auth={"issuer": ISSUER, "jwks_url": issuer.jwks_url, "resource_url": RESOURCE, "required_scopes": [SCOPE]},
    )
    runtime = Runtime(settings, PROVIDERS, transports={"conceptviz": httpx2.ASGITransport(app=sim.app)})
    async with serving(runtime) as served:
        yield served


async def _initialize(app: ASGIApp, token: str | None, leaks: Leaks, path: str = "/mcp") -> httpx2.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with asgi_http(app, headers) as http:
        return leaks.response("initialize", await http.post(path, json=INITIALIZE, headers=MCP_HEADERS))


def _unauthorized(response: httpx2.Response) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer"), challenge
    assert f'resource_metadata="{METADATA}"' in challenge, challenge


# ---------------------------------------------------------------------------------------------------------------------


async def test_the_protected_resource_metadata_document(app: ASGIApp) -> None:
    async with asgi_http(app) as http:
        response = await http.get("/.well-known/oauth-protected-resource/mcp")
    assert response.status_code == 200
    document = response.json()
    assert document["resource"] == RESOURCE
    assert [s.rstrip("/") for s in document["authorization_servers"]] == [ISSUER]
    assert document["scopes_supported"] == [SCOPE]


async def test_no_token_is_401_pointing_at_the_metadata(app: ASGIApp, leaks: Leaks) -> None:
    _unauthorized(await _initialize(app, None, leaks))
    _unauthorized(await _initialize(app, None, leaks, "/mcp/conceptviz"))


async def test_a_valid_rs256_token_is_accepted_and_tools_work(app: ASGIApp, issuer: Issuer, leaks: Leaks) -> None:
    token = issuer.token()
    assert (await _initialize(app, token, leaks)).status_code == 200
    async with (
        asgi_http(app, {"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(RESOURCE, http_client=http)) as client,
    ):
        result = leaks.result("jobs", await client.call_tool("jobs", {}))
    assert not result.is_error
    assert data(result)["jobs"] == []


async def test_a_valid_es256_token_is_accepted(app: ASGIApp, issuer: Issuer, leaks: Leaks) -> None:
    assert (await _initialize(app, issuer.token(key=issuer.ec_key, alg="ES256", kid="ec-1"), leaks)).status_code == 200


async def test_a_scope_list_claim_is_understood(app: ASGIApp, issuer: Issuer, leaks: Leaks) -> None:
    token = issuer.token(scope=None, scp=["openid", SCOPE])
    assert (await _initialize(app, token, leaks)).status_code == 200


def _none_token(issuer: Issuer) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": "rsa-1"}
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(issuer.claims()).encode())}."


def _hs256_with_the_public_key(issuer: Issuer) -> str:
    """The classic key-confusion attack: HMAC-sign with the RSA public key (which anyone can fetch) as the secret."""
    header = {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(issuer.claims()).encode())}"
    signature = hmac.new(issuer.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _tampered(issuer: Issuer) -> str:
    head, _payload, signature = issuer.token(scope="openid").split(".")
    forged = _b64(json.dumps(issuer.claims()).encode())  # grants the scope the signed token lacked
    return f"{head}.{forged}.{signature}"


REFUSED = {
    "expired": lambda i: i.token(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
    "not-yet-valid": lambda i: i.token(nbf=int(time.time()) + 3600),
    "wrong-audience": lambda i: i.token(aud="https://other-server.example/mcp"),
    "audience-prefix": lambda i: i.token(aud=f"{IN_PROCESS}/mc"),
    "no-audience": lambda i: i.token(aud=None),
    "wrong-issuer": lambda i: i.token(iss="https://evil-issuer.example"),
    "no-issuer": lambda i: i.token(iss=None),
    "no-expiry": lambda i: i.token(exp=None),
    "alg-none": _none_token,
    "signed-by-another-key": lambda i: i.token(key=i.stranger),
    "unknown-key-id": lambda i: i.token(kid="rsa-2"),
    "hs256-with-public-key": _hs256_with_the_public_key,
    "tampered-payload": _tampered,
    "garbage": lambda i: "a.b.c",
}


@pytest.mark.parametrize("make", list(REFUSED.values()), ids=list(REFUSED))
async def test_invalid_tokens_are_refused_with_401(app: ASGIApp, issuer: Issuer, leaks: Leaks, make: Any) -> None:
    _unauthorized(await _initialize(app, make(issuer), leaks))


@pytest.mark.parametrize(
    ("alg", "kid"), [("ES256", "rsa-1"), ("RS256", "ec-1")], ids=["es256-naming-the-rsa-key", "rs256-naming-the-ec-key"]
)
async def test_a_token_whose_algorithm_does_not_fit_its_key_is_401(
    app: ASGIApp, issuer: Issuer, leaks: Leaks, alg: str, kid: str
) -> None:
    key = issuer.ec_key if alg == "ES256" else issuer.rsa_key
    _unauthorized(await _initialize(app, issuer.token(key=key, alg=alg, kid=kid), leaks))


async def test_a_token_without_the_required_scope_is_403_insufficient_scope(
    app: ASGIApp, issuer: Issuer, leaks: Leaks
) -> None:
    response = await _initialize(app, issuer.token(scope="openid profile"), leaks)
    assert response.status_code == 403, response.text
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert f'resource_metadata="{METADATA}"' in challenge


async def test_unknown_key_ids_do_not_make_genmcp_hammer_the_issuer(app: ASGIApp, issuer: Issuer, leaks: Leaks) -> None:
    before = len(issuer.fetches)
    for n in range(20):
        _unauthorized(await _initialize(app, issuer.token(kid=f"made-up-{n}"), leaks))
    assert len(issuer.fetches) - before <= 2, "every unknown kid refetched the JWKS"
    # Known keys keep working from the cache.
    assert (await _initialize(app, issuer.token(), leaks)).status_code == 200
