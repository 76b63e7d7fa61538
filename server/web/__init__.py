"""The web page at `/`: recent jobs with live progress, a gallery of finished files, spend per provider per day
with balances, and filters — server-rendered, nothing loaded from elsewhere, behind the same access rules as `/mcp`."""

from server.web.access import Access, Visitor
from server.web.routes import web_routes

__all__ = ["Access", "Visitor", "web_routes"]
