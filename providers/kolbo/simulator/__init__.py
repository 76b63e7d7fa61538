"""Local simulator of the Kolbo Developer API (https://api.kolbo.ai/api/v1), for `--sandbox` and tests.

Where the sources disagree (PROVIDERS.md §4.7) the simulator chooses as follows: chat is the session + poll form;
INSUFFICIENT_CREDITS uses `insufficient_status` (400 or 402); the rate limit is one `rate_limit` per key over all
generation endpoints; Visual DNA accepts both snake_case and camelCase field names; `vocal_gender` accepts m/f and
male/female; `moodboard_ids` apply per scene (scene n uses the n-th id, later scenes fall back to `moodboard_id`);
`enhance_prompt` defaults to true; every generation reports `pending` for its first tenth, then `processing`;
generation starts answer 200; a cancel refunds what has not finished unless `refund_on_cancel` is off.

Modules: `app` (the simulator and its account and library endpoints), `generate` and `chat` (starting
generations), `jobs` (charging, polling, cancelling), `media` (the files served), `core` (state and shared steps),
`records` (accounts, charges, generations, chat sessions), `catalogue` (models), `library` (Visual DNAs, moodboards),
`http` (errors and request bodies).
"""

from providers.kolbo.simulator.app import KolboSimulator
from providers.kolbo.simulator.core import DEFAULT_KEY
from providers.kolbo.simulator.records import Charge, ChatMessage, ChatSession, Generation, KolboAccount, Scene

__all__ = [
    "DEFAULT_KEY",
    "Charge",
    "ChatMessage",
    "ChatSession",
    "Generation",
    "KolboAccount",
    "KolboSimulator",
    "Scene",
]
