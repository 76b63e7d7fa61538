"""genmcp's own OAuth 2.1 authorization server (`[auth] mode = "builtin"`), built on the MCP SDK's
`mcp.server.auth` handlers: metadata, `/authorize`, `/token`, `/register`, `/revoke`, client ID metadata documents,
the sign-in and consent pages, users, one-time sign-in links, and the gate in front of the MCP endpoints.

Modules: `settings` (config), `scopes` (what a token may do), `credentials` (minting and hashing secrets),
`store` / `sqlite_store` / `pg_store` (persistence behind one interface, in the store `[store] url` names),
`clients` (registration rules, redirect matching, metadata documents), `provider` (the SDK's provider protocol),
`endpoints` (the OAuth routes), `sessions` (who is signed in, CSRF), `throttle`, `pages` (sign-in and consent),
`gate` (the MCP endpoints' bearer check), `server` (everything assembled), `cli` (`genmcp users | clients | tokens |
auth link`).

This package's `__init__` imports nothing: the config module imports `server.oauth.settings` at start-up.
"""
