"""Provider adapters. Adding a provider is adding its folder and one line to `PROVIDERS`.

`PROVIDERS` knows every adapter by name and imports an adapter's module only when the adapter itself is first
needed, so a process can start serving (and answer `initialize`) before any provider module is loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:
    from providers.base import Provider

__all__ = ["PROVIDERS", "Adapters"]


class Adapters(Sequence["type[Provider]"]):
    """Adapter classes by name, each imported on first use.

    Args:
        entries: provider name → the adapter class, or where it is (`"package.module:Class"`).
    """

    def __init__(self, entries: Mapping[str, str | type[Provider]]) -> None:
        self._entries = dict(entries)
        self.names: tuple[str, ...] = tuple(self._entries)
        """Every adapter's name, known without importing anything."""

    @classmethod
    def of(cls, adapters: Sequence[type[Provider]]) -> Adapters:
        """These adapters (as they are when already a registry)."""
        return adapters if isinstance(adapters, Adapters) else cls({adapter.name: adapter for adapter in adapters})

    def load(self, name: str) -> type[Provider]:
        """The adapter class of `name`, imported if it was not yet."""
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attribute = entry.partition(":")
            entry = getattr(importlib.import_module(module), attribute)
            self._entries[name] = entry
        return entry

    def __len__(self) -> int:
        return len(self.names)

    @overload
    def __getitem__(self, index: int) -> type[Provider]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[type[Provider]]: ...

    def __getitem__(self, index: int | slice) -> type[Provider] | Sequence[type[Provider]]:
        if isinstance(index, slice):
            return [self.load(name) for name in self.names[index]]
        return self.load(self.names[index])

    def __iter__(self) -> Iterator[type[Provider]]:
        return (self.load(name) for name in self.names)


PROVIDERS = Adapters(
    {
        "cosmiq": "providers.cosmiq.adapter:Cosmiq",
        "masko": "providers.masko.adapter:Masko",
        "kolbo": "providers.kolbo.adapter:Kolbo",
        "univers": "providers.univers.adapter:Univers",
        "conceptviz": "providers.conceptviz.adapter:ConceptViz",
    }
)
