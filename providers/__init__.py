"""Provider adapters. Adding a provider is adding its module and one line to `PROVIDERS`."""

from __future__ import annotations

from providers.base import Provider
from providers.conceptviz.adapter import ConceptViz
from providers.cosmiq.adapter import Cosmiq
from providers.kolbo.adapter import Kolbo
from providers.masko.adapter import Masko
from providers.univers.adapter import Univers

__all__ = ["PROVIDERS", "Provider"]

PROVIDERS: tuple[type[Provider], ...] = (Cosmiq, Masko, Kolbo, Univers, ConceptViz)
