"""Masko: mascots — poses, animations, transitions, edits, logos — and interactive canvases of them."""
