"""Local simulator of the Univers Studio "Mystery Mosaic" API, for `--sandbox` and tests.

`app` holds the routes; `accounts` the keys, credits and charges; `forms` the FastAPI-style request handling; `jobs`
the presets and what a request renders; `images`, `drawing`, `mosaic`, `lineart`, `color_by_number` and `svg` the
Pillow renders; `packaging` the files and ZIPs sent back.
"""

from __future__ import annotations

from providers.univers.simulator.accounts import UniversAccount
from providers.univers.simulator.app import UniversSimulator
from providers.univers.simulator.jobs import PRESETS, Preset

__all__ = ["PRESETS", "Preset", "UniversAccount", "UniversSimulator"]
