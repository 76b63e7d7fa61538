"""The Masko simulator's fixed content: its art styles, the pose ideas it suggests, and what its website analysis
draws brands' mascots from."""

from __future__ import annotations

__all__ = ["ACTIONS", "CHARACTERS", "INDUSTRIES", "MASCOT_NAMES", "STYLES", "STYLE_ALIASES"]

STYLES = (
    ("3d-render", "3D Render"),
    ("pixel-art", "Pixel Art"),
    ("flat-vector", "Flat Vector"),
    ("cartoon", "Cartoon"),
    ("anime", "Anime"),
    ("watercolor", "Watercolor"),
    ("clay", "Clay"),
    ("line-art", "Line Art"),
    ("chibi", "Chibi"),
    ("low-poly", "Low Poly"),
)
STYLE_ALIASES = {"3d": "3d-render", "pixel": "pixel-art", "flat": "flat-vector", "vector": "flat-vector"}
ACTIONS = tuple(
    [
        "Wave Hello",
        "Thumbs Up",
        "Thinking",
        "Celebrate",
        "Point Right",
        "Sleeping",
        "Running",
        "Confused",
        "Dancing",
        "Reading",
        "Coffee Break",
        "Surprised",
        "Laughing",
        "High Five",
        "Typing",
        "Jumping",
        "Shrug",
        "Peace Sign",
        "Facepalm",
        "Cheering",
    ]
)
INDUSTRIES = ("Developer Tools", "E-commerce", "Education", "Finance", "Health", "Gaming", "Travel", "Media")
CHARACTERS = ("robot", "fox", "owl", "cat", "panda", "octopus", "dragon", "penguin")
MASCOT_NAMES = ("Codey", "Buildy", "Sparky", "Nova", "Bolt", "Ziggy", "Milo", "Pixel")
