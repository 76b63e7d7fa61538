"""MCP 2026-07-28 for genmcp's job registry: the Tasks extension (`io.modelcontextprotocol/tasks`), jobs as
`job://` resources with update notifications, questions asked of the caller (input-required results, a task's
`input_required`), and the workflow prompts and completions.

- `bus`: the subscription bus (job changes themselves come from the store's seam, `server.store.events`).
- `wire`: a job record as a task (`CreateTaskResult`, `DetailedTask`), the task methods' parameter models.
- `watchers`: the one watcher per running job that clients follow instead of calling `poll`.
- `questions`: questions a job's background work asks the person following it as a task, and their answers.
- `extension`: the SDK `Extension` (tasks/get, tasks/update, tasks/cancel, the `tools/call` interceptor).
- `resources`: `job://<handle>` resources, 2025 `resources/subscribe`, and the notifications they get.
- `notify`: job changes turned into resource updates and task notifications, for whoever follows the job.
- `listen`: `subscriptions/listen` with task ids and per-caller job subscriptions.
- `prompts`, `completions`: workflow prompts and argument completions.
- `feature`: everything above for one runtime, started with it.

Submodules are imported directly (this package imports nothing at import time).
"""
