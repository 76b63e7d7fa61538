"""Saving results into the user's project: where (`places`), how safely (`writer`), from what (`sources`), and
saves that wait for a running job (`pending`, `saves`)."""

from server.saving.pending import PendingSaves, SaveRequest, SqlitePendingSaves
from server.saving.places import Place, Target, places_of, resolve_target
from server.saving.saves import Saves
from server.saving.sources import AssetSource

__all__ = [
    "AssetSource",
    "PendingSaves",
    "Place",
    "SaveRequest",
    "Saves",
    "SqlitePendingSaves",
    "Target",
    "places_of",
    "resolve_target",
]
