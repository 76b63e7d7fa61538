"""The simulator's state and the steps every endpoint shares: authentication, the per-key rate limit, charging and
refunding credit buckets, settling failed generations, and looking up what a key may see."""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.requests import Request

from providers._sandbox.faults import Faults, RequestLog
from providers.kolbo.simulator.http import JsonBody, KolboError, invalid, media_url, read_json_body
from providers.kolbo.simulator.library import Moodboard, VisualDna, seed_moodboards, seed_visual_dnas
from providers.kolbo.simulator.records import Charge, ChatSession, Generation, KolboAccount

__all__ = ["DEFAULT_KEY", "SimulatorCore"]

DEFAULT_KEY = "kolbo_live_sandbox"
RATE_WINDOW = 60.0
RATE_LIMIT_MESSAGE = "Too many requests, please try again later"


class SimulatorCore:
    """The simulator's inspectable state (accounts, generations, chat sessions, Visual DNAs, moodboards, the request
    log and faults) and the steps its endpoints share."""

    def __init__(
        self,
        *,
        accounts: dict[str, KolboAccount] | None = None,
        job_seconds: float = 8.0,
        now: Callable[[], float] = time.monotonic,
        public_url: str = "http://127.0.0.1",
        insufficient_status: int = 402,
        rate_limit: int | None = None,
        refund_on_cancel: bool = True,
    ) -> None:
        """Create the state; accounts default to {"kolbo_live_sandbox": KolboAccount()}.

        Args:
            insufficient_status: 400 or 402, the status of INSUFFICIENT_CREDITS (the sources disagree).
            rate_limit: Generation requests a key may make per minute (None: unlimited).
            refund_on_cancel: Whether a cancel gives the unfinished part's credits back (`credits_refunded`); off,
                a cancel keeps every credit charged and answers `credits_refunded: 0`.
        """
        if insufficient_status not in (400, 402):
            raise ValueError(f"insufficient_status must be 400 or 402, got {insufficient_status}")
        self.accounts = accounts if accounts is not None else {DEFAULT_KEY: KolboAccount()}
        self.job_seconds = job_seconds
        self.now = now
        self.public_url = public_url
        self.insufficient_status = insufficient_status
        self.rate_limit = rate_limit
        self.refund_on_cancel = refund_on_cancel
        self.generations: dict[str, Generation] = {}
        self.chat_sessions: dict[str, ChatSession] = {}
        self.visual_dnas: dict[str, VisualDna] = seed_visual_dnas()
        self.moodboards: dict[str, Moodboard] = seed_moodboards()
        self.requests = RequestLog()
        self.faults = Faults()
        self._epoch = time.time() - now()
        self._calls: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._files: dict[str, bytes] = {}

    def _authenticate(self, request: Request) -> tuple[str, KolboAccount]:
        self._settle()
        key = request.headers.get("x-api-key", "").strip()
        if not key:
            raise KolboError(401, "INVALID_API_KEY", "API key is required (X-API-Key header)")
        account = self.accounts.get(key)
        if account is None:
            raise KolboError(401, "INVALID_API_KEY", "Invalid, expired or revoked API key")
        return key, account

    async def _generation_request(self, request: Request) -> tuple[str, KolboAccount, JsonBody]:
        key, account = self._authenticate(request)
        self._check_rate(key)
        return key, account, await read_json_body(request, key)

    def _check_rate(self, key: str) -> None:
        # Rejected before the handler runs: nothing is charged and the request does not count.
        if self.rate_limit is None:
            return
        now = self.now()
        calls = self._calls[key]
        while calls and calls[0] <= now - RATE_WINDOW:
            calls.popleft()
        if len(calls) >= self.rate_limit:
            retry_after = str(max(1, math.ceil(calls[0] + RATE_WINDOW - now))) if calls else str(int(RATE_WINDOW))
            error = KolboError(429, "RATE_LIMITED", RATE_LIMIT_MESSAGE, headers={"Retry-After": retry_after})
            error.body = {"status": False, "message": RATE_LIMIT_MESSAGE}
            raise error
        calls.append(now)

    def _settle(self) -> None:
        # Failed generations are refunded whether or not anyone polls them; each CD scene separately.
        now = self.now()
        for generation in self.generations.values():
            if not generation.fails or generation.cancelled_at is not None or generation.key not in self.accounts:
                continue
            for index, charge in enumerate(generation.charges):
                ready_at = generation.scenes[index].ready_at if generation.scenes else generation.ready_at
                if not charge.refunded and now >= ready_at:
                    self._refund(self.accounts[generation.key], charge)

    def _charge(self, account: KolboAccount, amount: float) -> Charge:
        plan = min(account.plan_credits, amount)
        pack = min(account.credit_pack, round(amount - plan, 2))
        redemption = round(amount - plan - pack, 2)
        account.plan_credits = round(account.plan_credits - plan, 2)
        account.credit_pack = round(account.credit_pack - pack, 2)
        account.redemption = round(account.redemption - redemption, 2)
        return Charge(plan, pack, redemption)

    def _refund(self, account: KolboAccount, charge: Charge) -> float:
        account.plan_credits = round(account.plan_credits + charge.plan, 2)
        account.credit_pack = round(account.credit_pack + charge.pack, 2)
        account.redemption = round(account.redemption + charge.redemption, 2)
        charge.refunded = True
        return charge.amount

    def _generation_for(self, key: str, generation_id: str) -> Generation:
        generation = self.generations.get(generation_id)
        if generation is None or generation.key != key:
            raise KolboError(404, "NOT_FOUND", "Generation not found")
        return generation

    def _dna_for(self, key: str, dna_id: str, *, status: int = 404) -> VisualDna:
        dna = self.visual_dnas.get(dna_id)
        if dna is None or not dna.visible_to(key):
            code = "NOT_FOUND" if status == 404 else "VALIDATION_ERROR"
            raise KolboError(status, code, f"Visual DNA not found: {dna_id}")
        return dna

    def _moodboard_for(self, key: str, moodboard_id: str) -> Moodboard:
        board = self.moodboards.get(moodboard_id)
        if board is None or not board.visible_to(key):
            raise invalid(f"Moodboard not found: {moodboard_id}")
        return board

    def _url(self, item_id: str, index: int, ext: str) -> str:
        return media_url(self.public_url, item_id, index, ext)

    def _timestamp(self, monotonic: float) -> str:
        moment = datetime.fromtimestamp(self._epoch + monotonic, tz=UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
