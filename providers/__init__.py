"""Provider adapters. Adding a provider is adding its module and one line to `PROVIDERS`."""

from __future__ import annotations

from providers.base import Provider
from providers.conceptviz import ConceptViz
from providers.cosmiq import Cosmiq
from providers.kolbo import Kolbo
from providers.masko import Masko
from providers.univers import Univers

__all__ = ["PROVIDERS", "Provider"]

PROVIDERS: tuple[type[Provider], ...] = (Cosmiq, Masko, Kolbo, Univers, ConceptViz)
