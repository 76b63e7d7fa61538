"""What the Masko simulator tests share: the accounts' keys, and short ways to make a collection or a job and to
read an answer in either response shape."""

from __future__ import annotations

from typing import Any

import httpx2

from providers._sandbox.images import placeholder_png
from providers.masko.simulator import MaskoSimulator

__all__ = [
    "AUTH",
    "FREE_KEY",
    "KEY",
    "OTHER_KEY",
    "PNG",
    "REFERENCE",
    "assert_error",
    "generate",
    "image_job",
    "new_collection",
    "payload",
    "total",
]

KEY = "masko_test_key"
OTHER_KEY = "masko_other_key"
FREE_KEY = "masko_free_key"
AUTH = {"Authorization": f"Bearer {KEY}"}
PNG = placeholder_png("upload", width=32, height=32)
REFERENCE = "https://example.com/fox.png"


def payload(sim: MaskoSimulator, response: httpx2.Response) -> Any:
    """The payload, unwrapped from `{data}` in envelope mode."""
    return response.json()["data"] if sim.envelope else response.json()


def assert_error(sim: MaskoSimulator, response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    """Check that the response is this refusal, in the mode's error shape; its body."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    if sim.envelope:
        assert body["error"]["code"] == code
        assert isinstance(body["error"]["message"], str)
    else:
        assert isinstance(body["error"], str)
    return body


async def new_collection(client: httpx2.AsyncClient, sim: MaskoSimulator, **fields: Any) -> str:
    """A collection with an external reference image (free: nothing is generated)."""
    project = payload(sim, await client.post("/v1/projects", json={"name": "My App"}))
    body = {"project_id": project["id"], "name": "Felix the Fox", "reference_image_urls": [REFERENCE], **fields}
    response = await client.post("/v1/collections", json=body)
    assert response.status_code == 201, response.text
    collection_id: str = payload(sim, response)["id"]
    return collection_id


async def generate(client: httpx2.AsyncClient, collection_id: str, **body: Any) -> httpx2.Response:
    """`POST /v1/collections/:id/generate` with this body."""
    return await client.post(f"/v1/collections/{collection_id}/generate", json=body)


async def image_job(client: httpx2.AsyncClient, sim: MaskoSimulator, collection_id: str, name: str) -> dict[str, Any]:
    """A started pose image job, as the generate answer describes it."""
    response = await generate(client, collection_id, type="image", name=name, image_prompt=f"{name} pose")
    assert response.status_code == 202, response.text
    job: dict[str, Any] = payload(sim, response)
    return job


def total(sim: MaskoSimulator) -> int:
    """The test account's credits."""
    return sim.accounts[KEY].total
