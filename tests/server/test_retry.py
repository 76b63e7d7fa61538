"""The one retry and backoff policy, shared by upstream requests and the poller."""

from __future__ import annotations

import random

from server.retry import MAX_RETRY_AFTER, Backoff


def test_the_wait_grows_with_each_attempt_between_half_and_all_of_a_capped_ceiling() -> None:
    backoff = Backoff(base=1.0, cap=4.0, rng=random.Random(7))

    for attempt, ceiling in enumerate([1.0, 2.0, 4.0, 4.0, 4.0]):
        delay = backoff.delay(attempt)
        assert ceiling / 2 <= delay <= ceiling, (attempt, delay)


def test_a_providers_retry_after_says_exactly_when_but_is_capped() -> None:
    backoff = Backoff(base=1.0, cap=4.0)

    assert backoff.delay(0, retry_after=7.0) == 7.0
    assert backoff.delay(3, retry_after=0.5) == 0.5
    assert backoff.delay(0, retry_after=99_999) == MAX_RETRY_AFTER
    assert backoff.delay(0, retry_after=-3) == 0.0


def test_the_poller_uses_the_same_policy_from_a_jobs_poll_interval() -> None:
    backoff = Backoff(base=1.0, cap=30.0, factor=1.5, rng=random.Random(1)).from_base(8.0)

    assert backoff.base == 8.0
    assert backoff.cap == 30.0
    assert 6.0 <= backoff.delay(1) <= 12.0
    assert 15.0 <= backoff.delay(9) <= 30.0
