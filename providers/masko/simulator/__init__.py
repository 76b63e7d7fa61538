"""Local simulator of the Masko REST API (https://api.masko.ai/v1), in both response shapes the sources document
(the newer `{data: …}` envelope and the older bare objects).

`app` holds the Starlette app and its route table; the routes are grouped by concept (`collections`, `generation`,
`jobs`, `canvas_routes`, `extras`, `cdn`) over the shared state and steps of `core`; `state` holds the records and
figures, `parsing` reads requests, `canvas` and `templates` model canvases without HTTP.
"""

from providers.masko.simulator.app import MaskoSimulator
from providers.masko.simulator.state import (
    MaskoAccount,
    MaskoAsset,
    MaskoCollection,
    MaskoItem,
    MaskoJob,
    MaskoProject,
)

__all__ = [
    "MaskoAccount",
    "MaskoAsset",
    "MaskoCollection",
    "MaskoItem",
    "MaskoJob",
    "MaskoProject",
    "MaskoSimulator",
]
