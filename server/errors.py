"""The one error tree of genmcp.

Every failure that reaches a client is a `GenmcpError`: it says what happened, whether retrying can help, and
whether credits were spent or refunded. Messages are written for the model reading them and never carry a secret
(`server.redaction` scrubs every configured key before anything leaves the process).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AuthError",
    "BudgetExceeded",
    "ConfigError",
    "ConfirmationRequired",
    "ContentRejected",
    "DeadlineExceeded",
    "Declined",
    "ForbiddenError",
    "GenmcpError",
    "InsufficientCredits",
    "InsufficientScope",
    "InvalidInput",
    "JobFailed",
    "JobFinished",
    "NotFoundError",
    "RateLimited",
    "SubmitUnknown",
    "UpstreamError",
]


class GenmcpError(Exception):
    """Base of every error genmcp reports.

    Args:
        message: What happened and what to do next, for the model.
        retryable: Whether the same call may succeed later.
        charged: Whether credits were (or may have been) spent; `None` when unknown.
        refunded: Whether spent credits were given back; `None` when nothing was spent or it is unknown.
        retry_after: Seconds to wait before retrying, when the provider said so.
    """

    code: ClassVar[str] = "error"
    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        retryable: bool | None = None,
        charged: bool | None = False,
        refunded: bool | None = None,
        retry_after: float | None = None,
        upstream_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = self.default_retryable if retryable is None else retryable
        self.charged = charged
        self.refunded = refunded
        self.retry_after = retry_after
        self.upstream_code = upstream_code


class ConfigError(GenmcpError):
    """The configuration is invalid; raised at start-up, naming the key."""

    code = "config_error"


class InvalidInput(GenmcpError):
    """The arguments are wrong; nothing was sent upstream."""

    code = "invalid_input"


class ContentRejected(InvalidInput):
    """The provider's safety checks refused the prompt or an input image."""

    code = "content_rejected"


class AuthError(GenmcpError):
    """The provider refused the configured key."""

    code = "auth_failed"


class InsufficientCredits(GenmcpError):
    """The account has too few credits for this call."""

    code = "insufficient_credits"


class ForbiddenError(GenmcpError):
    """The account's plan does not allow this call."""

    code = "forbidden"


class InsufficientScope(ForbiddenError):
    """The caller's OAuth token was not granted the scope this tool needs (nothing was sent upstream)."""

    code = "insufficient_scope"


class RateLimited(GenmcpError):
    """The provider asked us to slow down."""

    code = "rate_limited"
    default_retryable = True


class NotFoundError(GenmcpError):
    """The job or resource does not exist (or belongs to another account)."""

    code = "not_found"


class UpstreamError(GenmcpError):
    """The provider failed or answered something we cannot read (5xx, HTML, invalid JSON, drifted shape)."""

    code = "upstream_error"
    default_retryable = True


class JobFailed(GenmcpError):
    """The provider ran the job and it failed."""

    code = "job_failed"


class JobFinished(GenmcpError):
    """The job had already finished (for example when asked to cancel it)."""

    code = "already_finished"


class SubmitUnknown(GenmcpError):
    """A paid request may have reached the provider but its answer was lost; it is never re-sent."""

    code = "submit_unknown"


class DeadlineExceeded(GenmcpError):
    """A provider call did not answer within its time budget."""

    code = "timeout"
    default_retryable = True


class Declined(GenmcpError):
    """The person declined (or dismissed) the confirmation of a spending call; nothing was sent upstream."""

    code = "declined"


class ConfirmationRequired(GenmcpError):
    """The call needs a person's confirmation, and this client cannot ask for it; nothing was sent upstream."""

    code = "confirmation_required"


class BudgetExceeded(GenmcpError):
    """The call would pass a daily spend cap; nothing was sent upstream. Retryable after the cap resets."""

    code = "budget_exceeded"
    default_retryable = True
