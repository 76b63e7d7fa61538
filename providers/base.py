"""What a provider adapter is: a name, its operations, and the job hooks the server calls.

An operation is declared next to its handler with `@operation(InputModel, …)`; mypy checks that the handler takes
that input model. The server turns every `Operation` into an MCP tool through one generic path (`server.tools`); an
adapter never registers tools itself and the server never branches on a provider's name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Protocol, TypeVar

from mcp_types import InputRequests, InputResponses
from pydantic import BaseModel, ConfigDict

from server.errors import GenmcpError, InvalidInput
from server.results import Asset, CreditsInfo

if TYPE_CHECKING:
    from anyio.abc import TaskGroup
    from starlette.types import ASGIApp

    from server.artifacts import Files
    from server.config import ProviderSettings
    from server.inputs import ImageInputs
    from server.upstream import UpstreamClient

__all__ = [
    "Balance",
    "Completed",
    "JobUpdate",
    "Operation",
    "OperationContext",
    "OperationInput",
    "Outcome",
    "Provider",
    "Simulator",
    "Submitted",
    "compact",
    "operation",
]

OperationKind = Literal["read", "spend", "write"]
JobState = Literal["running", "completed", "failed", "cancelled"]


def compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` without the entries that are None (what a provider should not be sent, or need not be shown)."""
    return {key: value for key, value in values.items() if value is not None}


class OperationInput(BaseModel):
    """Base of every operation's arguments: unknown arguments are refused, never ignored.

    Validators and schemas are built on first use (`defer_build`), so importing an adapter stays cheap.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True, defer_build=True)

    def payload(self, *, exclude: set[str] | frozenset[str] = frozenset(), by_alias: bool = False) -> dict[str, Any]:
        """The arguments as JSON-ready values, without those left unset (None) and those in `exclude`."""
        return self.model_dump(mode="json", exclude_none=True, exclude=set(exclude), by_alias=by_alias)


@dataclass(frozen=True)
class Completed:
    """A final answer: the operation finished within the call."""

    assets: list[Asset] = field(default_factory=list)
    credits: CreditsInfo | None = None
    details: dict[str, Any] = field(default_factory=dict)
    text: str | None = None
    image: bytes | None = None
    """Image bytes the provider answered with (shown as the preview, never passed on as data)."""


@dataclass(frozen=True)
class Submitted:
    """The provider accepted a job; the server registers it and waits for it.

    `poll_state` is whatever (non-secret) data the adapter needs to poll the job later, even after a restart.
    `assets` may hold URLs the provider hands out before the job finishes (marked pending). `related` are further
    jobs the same request started (a batch's other items, a free reverse animation): each is registered, and
    polling this job's handle finishes them all.
    """

    upstream_id: str
    poll_interval: float
    credits: CreditsInfo | None = None
    details: dict[str, Any] = field(default_factory=dict)
    poll_state: dict[str, Any] = field(default_factory=dict)
    assets: list[Asset] = field(default_factory=list)
    related: tuple[Submitted, ...] = ()


Outcome = Completed | Submitted
"""What an operation handler answers: a final result, or a job to wait for."""


@dataclass(frozen=True)
class JobUpdate:
    """One observation of a job's state upstream."""

    state: JobState
    progress: float | None = None
    """Percent done (0–100) when the provider reports it."""
    assets: list[Asset] = field(default_factory=list)
    error: GenmcpError | None = None
    credits: CreditsInfo | None = None
    poll_interval: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    upstream_status: str | None = None
    """The provider's own words for the state (shown in progress notifications, e.g. '2 of 4 scenes done')."""
    text: str | None = None
    """Text the job produced (a chat answer)."""
    poll_state: dict[str, Any] | None = None
    """What the adapter learned about how to poll this job (merged into the stored poll state)."""


@dataclass(frozen=True)
class Balance:
    """A provider's credit balance, read live from its API."""

    remaining: float
    as_of: float
    """Unix time of the observation."""
    details: dict[str, Any] = field(default_factory=dict)


def _nothing() -> None:
    """The default `sending` hook: nobody is waiting for the first request."""


async def _no_one_to_ask(questions: InputRequests) -> InputResponses:
    """The default `ask` hook: the call has nobody to ask."""
    raise InvalidInput("This call cannot ask you anything while it runs; nothing was sent upstream.")


@dataclass(frozen=True)
class OperationContext:
    """What an operation handler may use besides its arguments."""

    inputs: ImageInputs
    files: Files
    deadline: float
    """Monotonic time by which the call must answer (informational: blocking calls run past it)."""
    sending: Callable[[], None] = _nothing
    """Pass as `on_send` to the upstream client: called just before the first request that may cost money (a
    blocking call answers `running` only after that; until then a refused input is still an error)."""
    ask: Callable[[InputRequests], Awaitable[InputResponses]] = _no_one_to_ask
    """Ask the person following the job (MCP input requests by key, e.g. `elicitation/create`) and wait for the
    answers: a blocking call run as an MCP task can; anything else raises `InvalidInput`. Ask before sending."""


InT = TypeVar("InT", bound=OperationInput)
ProviderT = TypeVar("ProviderT", bound="Provider")
Handler = Callable[[InT, OperationContext], Awaitable[Outcome]]
"""A bound handler: the operation's validated arguments and the call's context in, an outcome out."""
HandlerMethod = Callable[[ProviderT, InT, OperationContext], Awaitable[Outcome]]
"""A handler as written in the adapter class (before it is bound to the adapter)."""


@dataclass(frozen=True)
class Operation(Generic[InT]):
    """One provider operation, served as the MCP tool `<provider>_<name>`.

    `summary`, `cost`, `duration` and `returns` are written for a model: the server composes them into the tool's
    description. `kind` decides annotations and bookkeeping: a `spend` operation is registered as a job before its
    upstream request is sent.
    """

    name: str
    title: str
    summary: str
    input_model: type[InT]
    kind: OperationKind
    handler: Handler[InT]
    cost: str
    duration: str
    returns: str
    blocking: bool = False
    """The provider answers synchronously, possibly after minutes: genmcp runs the call in the background so the
    tool can answer `running` within its budget (the job's handle is then genmcp's own id)."""
    max_seconds: float = 600.0
    """For a blocking call: how long it may take before it is considered lost."""
    estimate: Callable[[InT], float | None] | None = None
    """Credits a call with these arguments is expected to cost (the figures `cost` states); None when unknown.
    Unset means free for reads and writes, unknown for spending operations."""

    def estimated_cost(self, args: InT) -> float | None:
        """The expected cost of a call: from `estimate`, else 0 for a read or write, unknown for a spend."""
        if self.estimate is not None:
            return self.estimate(args)
        return None if self.kind == "spend" else 0.0


@dataclass(frozen=True)
class _Declaration(Generic[ProviderT, InT]):
    """What `@operation` records on a handler: the operation, whose handler is bound to each adapter instance."""

    method: HandlerMethod[ProviderT, InT]
    operation: Operation[InT]

    def bind(self, provider: ProviderT) -> Operation[InT]:
        method = self.method

        async def handler(args: InT, context: OperationContext) -> Outcome:
            return await method(provider, args, context)

        return replace(self.operation, handler=handler)


_DECLARATION = "__genmcp_operation__"


async def _unbound(args: OperationInput, context: OperationContext) -> Outcome:
    raise RuntimeError("an operation's handler is used only once bound to an adapter (Provider.operations())")


def operation(
    input_model: type[InT],
    *,
    name: str,
    title: str,
    summary: str,
    kind: OperationKind,
    cost: str,
    duration: str,
    returns: str,
    blocking: bool = False,
    max_seconds: float = 600.0,
    estimate: Callable[[InT], float | None] | None = None,
) -> Callable[[HandlerMethod[ProviderT, InT]], HandlerMethod[ProviderT, InT]]:
    """Declare the decorated adapter method as the handler of an operation taking `input_model`.

    The method is left as it is; `Provider.operations()` finds every declaration of the class, in order.
    """
    declared = Operation(
        name=name,
        title=title,
        summary=summary,
        input_model=input_model,
        kind=kind,
        handler=_unbound,
        cost=cost,
        duration=duration,
        returns=returns,
        blocking=blocking,
        max_seconds=max_seconds,
        estimate=estimate,
    )

    def declare(method: HandlerMethod[ProviderT, InT]) -> HandlerMethod[ProviderT, InT]:
        # Kept on the function itself, where Provider.operations() looks for it.
        setattr(method, _DECLARATION, _Declaration(method=method, operation=declared))
        return method

    return declare


class Simulator(Protocol):
    """A local imitation of a provider's API (for `--sandbox` and tests)."""

    public_url: str

    @property
    def app(self) -> ASGIApp:
        """The simulator's ASGI app."""
        ...


class Provider(ABC):
    """Base of every adapter.

    Subclasses set the class attributes, declare their operations with `@operation`, and implement `status`,
    `balance`, `check` and `simulator`. The HTTP client is injected (and closed by whoever created it).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    default_base_url: ClassVar[str]
    poll_interval: ClassVar[float] = 5.0
    """Seconds between polls when the provider gives no hint."""
    sandbox_key: ClassVar[str]
    """The key the provider's simulator accepts in `--sandbox` mode."""
    holds_polls: ClassVar[bool] = False
    """Whether `status` can hold the request server-side until the job changes (a long-poll API): the poller then
    asks at once and again right after each answer, instead of sleeping between polls."""
    accepts_client_keys: ClassVar[bool] = True
    """Whether a caller's own key can be used for one request (False for adapters holding a keyed session)."""
    can_cancel: ClassVar[bool] = False
    """Whether the provider's API can cancel a running job (then `cancel` is implemented)."""
    reports_credits: ClassVar[bool] = True
    """Whether the provider's answers say what a call cost; when not, spending results say the amount is unknown."""

    def __init__(self, settings: ProviderSettings, client: UpstreamClient) -> None:
        self.settings = settings
        self.client = client

    @classmethod
    def key_env(cls) -> str:
        """The environment variable that holds this provider's key."""
        return f"{cls.name.upper()}_API_KEY"

    @classmethod
    def auth_headers(cls, key: str) -> Mapping[str, str]:
        """Headers that carry the key; bearer unless the provider says otherwise."""
        return {"Authorization": f"Bearer {key}"}

    def operations(self) -> list[Operation[Any]]:
        """Every operation this provider declares (with `@operation`): the class's own first, then its bases' in the
        order they are listed, each in the order it declares them; a subclass's declaration of a name wins."""
        found: dict[str, Operation[Any]] = {}
        for klass in type(self).__mro__:
            for value in vars(klass).values():
                declaration = getattr(value, _DECLARATION, None)
                if isinstance(declaration, _Declaration) and declaration.operation.name not in found:
                    found[declaration.operation.name] = declaration.bind(self)
        return list(found.values())

    @abstractmethod
    async def status(self, upstream_id: str, poll_state: Mapping[str, Any], *, hold: float) -> JobUpdate:
        """Observe a job once.

        Args:
            upstream_id: The provider's job id.
            poll_state: What `Submitted.poll_state` held (empty for a job started elsewhere).
            hold: Seconds the caller can wait; a provider with a server-side long-poll may hold the request
                this long, the others ignore it.
        """

    @abstractmethod
    async def balance(self) -> Balance | None:
        """The account's credits read live, or None when the API has no balance endpoint (`credits` then shows the
        last balance one of its answers reported)."""

    def attach(self, task_group: TaskGroup | None) -> None:  # noqa: B027 - a hook most adapters do not need
        """The runtime's task group, for adapters that hold a long-lived connection (None at shutdown)."""

    async def cancel(self, upstream_id: str, poll_state: Mapping[str, Any]) -> JobUpdate:
        """Cancel a running job; return its state afterwards. Raise `JobFinished` when it had already finished."""
        raise NotImplementedError(f"{self.title} cannot cancel jobs")

    @abstractmethod
    async def check(self) -> str:
        """Make the cheapest authenticated read; return a one-line description or raise a `GenmcpError`."""

    @classmethod
    @abstractmethod
    def simulator(cls, *, now: Callable[[], float], job_seconds: float) -> Simulator:
        """Build this provider's simulator (imported only when called: sandbox mode and tests)."""
