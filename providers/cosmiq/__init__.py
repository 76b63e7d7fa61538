"""Cosmiq: boards of images and videos (create, campaigns, carousels, edits), served only as a remote MCP server."""
