"""The simulator's bulk endpoint: one ZIP for many pictures, charged per picture processed."""

from __future__ import annotations

import httpx2
import pytest

from providers.univers.simulator import UniversAccount, UniversSimulator
from tests.harness.clock import FakeClock
from tests.providers.univers.support import KEY, TINY, attachment, connect, members, scene

pytestmark = pytest.mark.anyio


async def test_bulk_skips_invalid_images_and_charges_per_processed_image(
    client: httpx2.AsyncClient, sim: UniversSimulator, clock: FakeClock
) -> None:
    files = [
        ("images", ("cat.png", TINY, "image/png")),
        ("images", ("notes.png", b"not an image", "image/png")),
        ("images", ("anim.gif", TINY, "image/gif")),
        ("images", ("cat.png", scene("JPEG", 32), "image/jpeg")),
        ("images", ("dog.png", TINY, "image/png")),
    ]

    response = await client.post("/api/bulk", data={"mode": "lineart"}, files=files)

    assert response.status_code == 200, response.text
    assert attachment(response) == "mystery-mosaics-bulk.zip"
    assert sorted(members(response)) == [
        "cat-2/cat-2-lineart.png",
        "cat-2/cat-2-lineart.svg",
        "cat/cat-lineart.png",
        "cat/cat-lineart.svg",
        "dog/dog-lineart.png",
        "dog/dog-lineart.svg",
    ]
    assert sim.accounts[KEY].balance == 97
    assert clock.sleeps == [2.5]


async def test_bulk_names_uploads_without_a_file_name_by_position(client: httpx2.AsyncClient) -> None:
    boundary = "sandbox-boundary"
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="images"; filename=""\r\nContent-Type: image/png\r\n\r\n'
    ).encode()
    body = part + TINY + b"\r\n" + part + TINY + f"\r\n--{boundary}--\r\n".encode()

    response = await client.post(
        "/api/bulk", content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )

    assert response.status_code == 200, response.text
    assert sorted(name.split("/")[0] for name in members(response)) == ["image-1"] * 5 + ["image-2"] * 5


async def test_bulk_cbn_costs_one_credit_per_image_even_when_cbn_costs_ten(clock: FakeClock) -> None:
    sim = UniversSimulator(accounts={KEY: UniversAccount(balance=20)}, cbn_cost=10, sleep=clock.sleep)
    async with connect(sim) as client:
        files = [("images", ("a.png", TINY, "image/png")), ("images", ("b.png", TINY, "image/png"))]
        response = await client.post("/api/bulk", data={"preset": "cbn-kids"}, files=files)

    assert response.status_code == 200, response.text
    assert "a/a-mystery.svg" in members(response)
    assert sim.accounts[KEY].balance == 18


async def test_bulk_with_only_invalid_images_is_400(client: httpx2.AsyncClient, sim: UniversSimulator) -> None:
    files = [("images", ("a.txt", b"hello", "text/plain")), ("images", ("b.png", b"nope", "image/png"))]

    response = await client.post("/api/bulk", files=files)

    assert response.status_code == 400
    assert response.json() == {"detail": "No valid images processed"}
    assert sim.accounts[KEY].balance == 100


async def test_bulk_of_51_images_is_400(client: httpx2.AsyncClient, sim: UniversSimulator) -> None:
    files = [("images", (f"{n}.png", TINY, "image/png")) for n in range(51)]

    response = await client.post("/api/bulk", files=files)

    assert response.status_code == 400
    assert response.json() == {"detail": "Too many images (max 50)"}
    assert sim.accounts[KEY].balance == 100


async def test_bulk_needs_a_credit_for_every_uploaded_image(client: httpx2.AsyncClient, sim: UniversSimulator) -> None:
    sim.accounts[KEY].balance = 2
    files = [("images", (f"{n}.png", TINY, "image/png")) for n in range(3)]

    response = await client.post("/api/bulk", files=files)

    assert response.status_code == 402
    detail = response.json()["detail"]
    assert (detail["error"], detail["remaining"], detail["requested"]) == ("Insufficient credits", 2, 3)
    assert sim.accounts[KEY].balance == 2


async def test_bulk_without_images_is_422(client: httpx2.AsyncClient) -> None:
    response = await client.post("/api/bulk", data={"mode": "hex"}, files={"other": ("a.png", TINY, "image/png")})

    assert response.status_code == 422
