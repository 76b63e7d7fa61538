"""`save_to` and `save`: genmcp writes a result's files into the user's project itself and says what it wrote.

A save is planned before anything goes upstream (`target`: the path is checked against the allowed places), then
delivered with the result: a finished job's files are written at once; for a job still running the save is kept in
the registry and a watcher finishes the job and writes them when it completes (a `poll` that sees it complete first
writes them instead; a restart resumes the watch). Every file comes from genmcp's artifacts or through the SSRF
guard, and lands only inside the place, under the name the plan gave it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import anyio

from server.artifacts import ArtifactStore
from server.background import BackgroundRuns
from server.callers import Caller
from server.clock import Clock
from server.config import OutputSettings
from server.errors import GenmcpError, InvalidInput
from server.results import Asset, SavedFile, SaveReport, ToolResult
from server.saving.pending import PendingSaves, SaveRequest
from server.saving.places import Place, Target, places_of, resolve_target
from server.saving.sources import AssetSource, Fetched, numbered_names, saved_assets
from server.saving.writer import open_directory, write_file

__all__ = ["Poll", "Saves"]

log = logging.getLogger("genmcp.saving")

Poll = Callable[[str, Caller], Awaitable[ToolResult]]
"""Finish (or look at) a job by handle within one wait budget, as `poll` does."""

_WATCH_SECONDS = 24 * 3600.0
"""How long a watcher waits for a job before giving its save up."""


def _stem(result: ToolResult) -> str:
    short = (result.job or "").split(":", 1)[-1][-10:].strip("-_") if result.job else ""
    return "-".join(part for part in (result.provider, result.operation, short) if part)


class Saves:
    """Plans, writes and resumes saves of result files."""

    def __init__(
        self,
        *,
        settings: OutputSettings,
        source: AssetSource,
        artifacts: ArtifactStore,
        pending: PendingSaves,
        runs: BackgroundRuns,
        clock: Clock,
        client_roots_default: bool,
        redact: Callable[[str], str] = str,
    ) -> None:
        self.settings = settings
        self.source = source
        self.artifacts = artifacts
        self.pending = pending
        self.runs = runs
        self.clock = clock
        self.client_roots_default = client_roots_default
        self.redact = redact
        self.poll: Poll | None = None
        """Set by the runtime once handles exist: how a watcher finishes a job."""
        self._writing: dict[str, anyio.Event] = {}
        """Saves this process is writing now, set when each is written."""

    @property
    def uses_client_roots(self) -> bool:
        """Whether the client's declared roots are allowed places (`outputs.use_client_roots`)."""
        mode = self.settings.use_client_roots
        return self.client_roots_default if mode == "auto" else mode == "on"

    def places(self, roots: Sequence[str]) -> list[Place]:
        """The allowed places: the client's roots (when allowed) first, then `outputs.dirs`."""
        return places_of(self.settings.dirs, roots if self.uses_client_roots else ())

    def target(self, save_to: str, *, overwrite: bool, roots: Sequence[str]) -> Target:
        """Check `save_to` now, before the call spends anything (raises `InvalidInput` saying why not)."""
        if os.open not in os.supports_dir_fd:
            raise InvalidInput(
                "Saving needs a system that can open files relative to a directory (Linux, macOS); on this one, "
                "download the result's links instead. Nothing was sent upstream."
            )
        return resolve_target(save_to, self.places(roots), overwrite=overwrite)

    # --- delivering ------------------------------------------------------------------------------------------------

    async def deliver(self, result: ToolResult, target: Target, *, overwrite: bool, caller: Caller) -> ToolResult:
        """The result with its `saved` report: files written now, or (job still running) written when it completes."""
        if result.status == "completed":
            report = await self.write(result.assets, target, overwrite=overwrite, stem=_stem(result))
        elif result.status == "running" and result.job:
            report = await self._later(result, target, overwrite=overwrite, caller=caller)
        else:
            report = SaveReport(
                status="failed", target=target.asked, message=f"Nothing was saved: the job {result.status}."
            )
        return result.model_copy(update={"saved": report})

    async def write(self, assets: Sequence[Asset], target: Target, *, overwrite: bool, stem: str) -> SaveReport:
        """Write the assets' files into the target now."""
        chosen = await saved_assets(assets, self.artifacts)
        if not chosen:
            return SaveReport(
                status="failed", target=target.asked, message="Nothing was saved: the result has no files."
            )
        if len(chosen) > self.settings.max_files:
            return SaveReport(
                status="failed",
                target=target.asked,
                message=f"Nothing was saved: {len(chosen)} files is more than outputs.max_files "
                f"({self.settings.max_files}).",
            )
        try:
            fetched: list[Fetched] = [await self.source.read(asset) for asset in chosen]
        except GenmcpError as exc:
            return SaveReport(status="failed", target=target.asked, message=f"Nothing was saved: {exc.message}")
        names = numbered_names(fetched, filename=target.filename, stem=stem, redact=self.redact)
        written: list[SavedFile] = []
        try:
            with open_directory(target.place.root, target.parts) as directory:
                for name, file in zip(names, fetched, strict=True):
                    write_file(directory, name, file.data, overwrite=overwrite)
                    written.append(
                        SavedFile(
                            path=str(target.directory / name),
                            bytes=len(file.data),
                            mime_type=file.mime_type,
                            source=file.asset.resource or file.asset.url,
                        )
                    )
        except (InvalidInput, OSError) as exc:
            reason = exc.message if isinstance(exc, InvalidInput) else f"the file system refused ({exc.strerror})"
            done = f" ({len(written)} of {len(fetched)} files were written)" if written else ""
            return SaveReport(
                status="failed", target=target.asked, files=written, message=f"Saving stopped{done}: {reason}"
            )
        where = target.describe()
        noun = "file" if len(written) == 1 else "files"
        return SaveReport(
            status="saved", target=target.asked, files=written, message=f"Saved {len(written)} {noun} to {where}."
        )

    # --- jobs still running ----------------------------------------------------------------------------------------

    async def _later(self, result: ToolResult, target: Target, *, overwrite: bool, caller: Caller) -> SaveReport:
        assert result.job is not None
        now = self.clock.wall()
        request = SaveRequest(
            handle=result.job,
            caller=caller.name,
            asked=target.asked,
            root=str(target.place.root),
            origin=target.place.origin,
            named=str(target.place.named),
            parts=list(target.parts),
            filename=target.filename,
            overwrite=overwrite,
            stem=_stem(result),
            message=f"The job is still running: its files will be saved to {target.describe()} when it completes "
            f"(genmcp watches it; poll {result.job} to see them).",
            created_at=now,
            updated_at=now,
        )
        await self.pending.add(request)
        self._watch(request)
        return request.report()

    def _watch(self, request: SaveRequest) -> None:
        async def watch() -> GenmcpError | None:
            await self._watch_until_done(request)
            return None

        self.runs.start(f"save:{request.id}", watch)

    async def _watch_until_done(self, request: SaveRequest) -> None:
        if self.poll is None:
            return
        deadline = self.clock.now() + _WATCH_SECONDS
        caller = Caller(name=request.caller)
        while self.clock.now() < deadline:
            try:
                result = await self.poll(request.handle, caller)
            except GenmcpError as exc:
                await self._give_up(request, f"the job could not be followed ({exc.message})")
                return
            if result.status != "running":
                await self.settle(result)
                return
        await self._give_up(request, "the job did not finish within 24 hours")

    async def _give_up(self, request: SaveRequest, why: str) -> None:
        if await self.pending.claim(request.id, self.clock.wall()):
            failed = request.model_copy(
                update={"state": "failed", "message": f"Nothing was saved: {why}.", "updated_at": self.clock.wall()}
            )
            await self.pending.finish(failed)
            log.warning("save to %s given up: %s", request.asked, why)

    async def settle(self, result: ToolResult) -> SaveReport | None:
        """Write the pending saves of a job that finished; the latest save of the job as the result shows it."""
        if not result.job:
            return None
        requests = await self.pending.for_job(result.job)
        if not requests:
            return None
        if result.status == "running":
            return requests[-1].report() if requests else None
        for request in requests:
            if request.state == "pending" and await self.pending.claim(request.id, self.clock.wall()):
                await self._write_claimed(request, result)
            elif (writing := self._writing.get(request.id)) is not None:
                # Its watcher is writing it right now: answer with what it wrote, not "pending".
                await writing.wait()
        latest = await self.pending.for_job(result.job)
        return latest[-1].report() if latest else None

    async def _write_claimed(self, request: SaveRequest, result: ToolResult) -> None:
        done = self._writing[request.id] = anyio.Event()
        try:
            await self._write_pending(request, result)
        finally:
            del self._writing[request.id]
            done.set()

    async def _write_pending(self, request: SaveRequest, result: ToolResult) -> None:
        place = Place(root=Path(request.root), origin=request.origin, named=Path(request.named))
        target = Target(place=place, parts=tuple(request.parts), filename=request.filename, asked=request.asked)
        if result.status == "completed":
            report = await self.write(result.assets, target, overwrite=request.overwrite, stem=request.stem)
        else:
            report = SaveReport(
                status="failed", target=request.asked, message=f"Nothing was saved: the job {result.status}."
            )
        await self.pending.finish(
            request.model_copy(
                update={
                    "state": report.status if report.status != "pending" else "failed",
                    "files": report.files,
                    "message": report.message,
                    "updated_at": self.clock.wall(),
                }
            )
        )
        log.info("pending save of %s: %s", request.handle, report.message)

    async def recover(self) -> int:
        """After a start: watch again every job whose save was not written yet."""
        waiting = await self.pending.unfinished()
        for request in waiting:
            self._watch(request)
        return len(waiting)
