"""genmcp: one MCP server for several creative-generation providers."""

__version__ = "0.1.0"
