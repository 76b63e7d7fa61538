// genmcp's built-in authorization server driven by the official MCP TypeScript SDK's OAuth client
// (@modelcontextprotocol/sdk: StreamableHTTPClientTransport with an OAuthClientProvider). Run by
// tests/clients/test_ts_oauth.py against `genmcp serve` in `[auth] mode = "builtin"`:
//
//   GENMCP_URL=http://127.0.0.1:8000/mcp GENMCP_USER=alice GENMCP_PASSWORD=… node --test ts_oauth.test.mjs
//
// The SDK discovers the authorization server from the 401, registers itself, and hands over the authorization URL;
// the "person" below signs in and approves on genmcp's pages over plain HTTP (its own cookie jar), and the code
// goes back to the SDK (finishAuth). Then: a tool call, an access token the server no longer knows (the SDK
// refreshes), a revocation (the SDK's refresh is refused and it asks the person again).

import assert from "node:assert/strict";
import { test } from "node:test";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const SERVER = process.env.GENMCP_URL;
const USER = process.env.GENMCP_USER;
const PASSWORD = process.env.GENMCP_PASSWORD;
if (!SERVER || !USER || !PASSWORD) throw new Error("set GENMCP_URL, GENMCP_USER and GENMCP_PASSWORD");
const ORIGIN = new URL(SERVER).origin;
const REDIRECT = "http://127.0.0.1:47114/callback";

/** The client's side: what the SDK asks its host application to keep. */
class Provider {
  constructor() {
    this.authorizationUrls = [];
    this.saved = { client: undefined, tokens: undefined, verifier: undefined };
  }
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata() {
    return {
      client_name: "TypeScript SDK test",
      redirect_uris: [REDIRECT],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this.saved.client;
  }
  saveClientInformation(client) {
    this.saved.client = client;
  }
  tokens() {
    return this.saved.tokens;
  }
  saveTokens(tokens) {
    this.saved.tokens = tokens;
  }
  redirectToAuthorization(url) {
    this.authorizationUrls.push(url.toString());
  }
  saveCodeVerifier(verifier) {
    this.saved.verifier = verifier;
  }
  codeVerifier() {
    return this.saved.verifier;
  }
  invalidateCredentials(scope) {
    if (scope === "all" || scope === "client") this.saved.client = undefined;
    if (scope === "all" || scope === "tokens") this.saved.tokens = undefined;
    if (scope === "all" || scope === "verifier") this.saved.verifier = undefined;
  }
}

/** A person with a cookie jar, answering genmcp's sign-in and consent pages over HTTP. */
class Person {
  constructor() {
    this.cookies = new Map();
  }
  async request(url, init = {}) {
    const headers = { ...(init.headers ?? {}) };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const response = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(";");
      const at = pair.indexOf("=");
      this.cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return response;
  }
  static form(html, marker) {
    for (const [, attrs, body] of html.matchAll(/<form([^>]*)>([\s\S]*?)<\/form>/g)) {
      if (marker && !body.includes(marker)) continue;
      const fields = new URLSearchParams();
      for (const [input] of body.matchAll(/<input[^>]*>/g)) {
        const name = /name="([^"]*)"/.exec(input)?.[1];
        const value = /value="([^"]*)"/.exec(input)?.[1] ?? "";
        const checkbox = /type="checkbox"/.test(input);
        if (name && (!checkbox || /\schecked/.test(input))) fields.append(name, value.replaceAll("&amp;", "&"));
      }
      return { action: /action="([^"]*)"/.exec(attrs)[1], fields };
    }
    throw new Error(`no form${marker ? ` with ${marker}` : ""} in: ${html.slice(0, 500)}`);
  }
  async post(path, fields) {
    return this.request(new URL(path, ORIGIN), {
      method: "POST",
      body: fields,
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
    });
  }
  /** Sign in if asked, approve; the code the browser is sent back with. */
  async approve(authorizationUrl) {
    const authorize = await this.request(authorizationUrl);
    assert.equal(authorize.status, 302);
    const consentUrl = new URL(authorize.headers.get("location"), ORIGIN);
    let page = await (await this.request(consentUrl)).text();
    if (page.includes("Sign in to genmcp")) {
      const { action, fields } = Person.form(page, 'value="password"');
      fields.set("user", USER);
      fields.set("password", PASSWORD);
      const signedIn = await this.post(action, fields);
      assert.equal(signedIn.status, 303, await signedIn.text());
      page = await (await this.request(new URL(signedIn.headers.get("location"), ORIGIN))).text();
    }
    const { action, fields } = Person.form(page, 'name="request"');
    fields.set("decision", "approve");
    const answered = await this.post(action, fields);
    assert.equal(answered.status, 303, await answered.text());
    const back = new URL(answered.headers.get("location"));
    assert.equal(`${back.origin}${back.pathname}`, REDIRECT);
    assert.equal(back.searchParams.get("iss"), ORIGIN);
    return back.searchParams.get("code");
  }
}

async function connect(provider) {
  const client = new Client({ name: "genmcp-ts-oauth-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(SERVER), { authProvider: provider }));
  return client;
}

test("the SDK's OAuth client signs in, calls a tool, refreshes, and is revoked", async () => {
  const provider = new Provider();
  const person = new Person();

  // 1. discovery from the 401, registration, authorization
  const transport = new StreamableHTTPClientTransport(new URL(SERVER), { authProvider: provider });
  const first = new Client({ name: "genmcp-ts-oauth-test", version: "1.0.0" });
  await assert.rejects(first.connect(transport), UnauthorizedError);
  await first.close();
  assert.equal(provider.authorizationUrls.length, 1);
  assert.ok(provider.saved.client?.client_id, "the SDK registered itself");
  await transport.finishAuth(await person.approve(provider.authorizationUrls[0]));
  const issued = provider.saved.tokens;
  assert.match(issued.access_token, /^gmcp_at_/);
  assert.equal(issued.scope, "genmcp:read genmcp:write genmcp:spend");

  // 2. a tool call with the token
  const client = await connect(provider);
  try {
    const jobs = await client.callTool({ name: "jobs", arguments: {} });
    assert.equal(jobs.isError ?? false, false, JSON.stringify(jobs));
    assert.deepEqual(jobs.structuredContent.jobs, []);

    // 3. the access token is no longer valid (as when it expires): the SDK refreshes and carries on
    provider.saved.tokens = { ...provider.saved.tokens, access_token: "gmcp_at_expired_expired_expired_expired" };
    const credits = await client.callTool({ name: "credits", arguments: {} });
    assert.equal(credits.isError ?? false, false, JSON.stringify(credits));
    assert.notEqual(provider.saved.tokens.refresh_token, issued.refresh_token, "the refresh token rotated");
    assert.equal(provider.authorizationUrls.length, 1, "refreshed without asking the person again");

    // 4. revocation: the token answers 401, the refresh token is refused, the SDK asks the person again
    const current = provider.saved.tokens.access_token;
    const revoked = await fetch(`${ORIGIN}/revoke`, {
      method: "POST",
      body: new URLSearchParams({ token: current, client_id: provider.saved.client.client_id }),
    });
    assert.equal(revoked.status, 200);
    const refused = await fetch(SERVER, {
      method: "POST",
      headers: { authorization: `Bearer ${current}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get("www-authenticate"), /error="invalid_token"/);
    await assert.rejects(client.callTool({ name: "jobs", arguments: {} }), UnauthorizedError);
    assert.equal(provider.authorizationUrls.length, 2, "the SDK asked for a new authorization");
  } finally {
    await client.close();
  }
});
