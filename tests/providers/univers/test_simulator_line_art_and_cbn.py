"""The simulator's coloring pages (line art), color-by-number pages and AI coloring pages."""

from __future__ import annotations

import httpx2
import pytest

from providers.univers.simulator import UniversAccount, UniversSimulator
from tests.harness.clock import FakeClock
from tests.providers.univers.support import KEY, SKY, SUN, SVG, attachment, connect, generate, members, near, png, svg

pytestmark = pytest.mark.anyio


async def test_lineart_zip_has_png_and_svg(client: httpx2.AsyncClient) -> None:
    response = await generate(client, mode="lineart")

    assert attachment(response) == "garden-lineart.zip"
    files = members(response)
    assert sorted(files) == ["garden/garden-lineart.png", "garden/garden-lineart.svg"]
    svg(files["garden/garden-lineart.svg"])


async def test_lineart_png_is_black_lines_on_white_along_the_picture_edges(client: httpx2.AsyncClient) -> None:
    page = png(await generate(client, mode="lineart", output="png")).convert("L")

    scale = page.width / 512
    horizon = int(256 * scale)
    inked_columns = sum(
        1 for x in range(page.width) if any(page.getpixel((x, y)) == 0 for y in range(horizon - 4, horizon + 5))
    )
    assert inked_columns > page.width * 0.5
    sky = page.crop((int(20 * scale), int(20 * scale), int(300 * scale), int(100 * scale)))
    assert sky.getextrema() == (255, 255)
    histogram = page.histogram()
    assert histogram[0] + histogram[255] == page.width * page.height
    assert 0.005 < histogram[0] / (page.width * page.height) < 0.2


@pytest.mark.parametrize(
    ("output", "filename", "kind"),
    [
        ("mystery", "garden-lineart.png", "png"),
        ("png", "garden-lineart.png", "png"),
        ("svg", "garden-lineart.svg", "svg"),
        ("answer", "garden-lineart.svg", "svg"),
        ("beauty", "garden-preview.png", "png"),
        ("preview", "garden-preview.png", "png"),
        ("legend", "garden-lineart.zip", "zip"),
    ],
)
async def test_lineart_outputs(client: httpx2.AsyncClient, output: str, filename: str, kind: str) -> None:
    response = await generate(client, mode="lineart", output=output)

    assert response.status_code == 200, response.text
    assert attachment(response) == filename
    if kind == "png":
        png(response)
    elif kind == "svg":
        assert response.headers["content-type"] == "image/svg+xml"
        assert svg(response.content).findall(f"{SVG}path")
    else:
        members(response)


async def test_lineart_preview_is_smaller_than_the_page(client: httpx2.AsyncClient) -> None:
    page = png(await generate(client, mode="lineart", output="png"))
    preview = png(await generate(client, mode="lineart", output="preview"))

    assert preview.width < page.width


async def test_cbn_zip_has_svgs_and_pngs(client: httpx2.AsyncClient) -> None:
    response = await generate(client, mode="cbn", colors="10")

    assert attachment(response) == "garden-cbn.zip"
    files = members(response)
    assert sorted(files) == [
        "garden/garden-answer.png",
        "garden/garden-answer.svg",
        "garden/garden-legend.png",
        "garden/garden-mystery-full.png",
        "garden/garden-mystery.png",
        "garden/garden-mystery.svg",
    ]
    numbers = svg(files["garden/garden-mystery.svg"]).findall(f"{SVG}text")
    assert numbers
    assert all((text.text or "").isdigit() for text in numbers)
    fills = [path.get("fill", "") for path in svg(files["garden/garden-answer.svg"]).findall(f"{SVG}path")]
    assert fills
    assert all(fill.startswith("rgb(") for fill in fills)


@pytest.mark.parametrize(
    ("output", "filename", "media_type"),
    [
        ("mystery", "garden-mystery.svg", "image/svg+xml"),
        ("svg", "garden-mystery.svg", "image/svg+xml"),
        ("answer", "garden-answer.svg", "image/svg+xml"),
        ("legend", "garden-legend.png", "image/png"),
        ("full", "garden-mystery-full.png", "image/png"),
        ("beauty", "garden-preview.png", "image/png"),
    ],
)
async def test_cbn_outputs(client: httpx2.AsyncClient, output: str, filename: str, media_type: str) -> None:
    response = await generate(client, mode="cbn", output=output)

    assert response.status_code == 200, response.text
    assert attachment(response) == filename
    assert response.headers["content-type"] == media_type
    if media_type == "image/png":
        png(response)
    else:
        svg(response.content)


async def test_cbn_page_is_numbered_zones_and_its_answer_has_the_picture_colours(client: httpx2.AsyncClient) -> None:
    full = png(await generate(client, mode="cbn", output="full")).convert("RGB")
    answer_svg = svg((await generate(client, mode="cbn", output="answer")).content)

    colours = full.getcolors(1 << 16)
    assert colours is not None
    assert max(colours, key=lambda c: c[0])[1] == (255, 255, 255)
    fills = {path.get("fill") for path in answer_svg.findall(f"{SVG}path")}
    parsed = [tuple(int(v) for v in fill[4:-1].split(",")) for fill in fills if fill]
    assert any(near(colour, SKY) for colour in parsed)
    assert any(near(colour, SUN, 40) for colour in parsed)


@pytest.mark.parametrize(("cbn_cost", "balance_after"), [(1, 99), (10, 90)])
async def test_cbn_cost_follows_the_configured_price(cbn_cost: int, balance_after: int) -> None:
    sim = UniversSimulator(accounts={KEY: UniversAccount(balance=100)}, cbn_cost=cbn_cost)
    async with connect(sim) as own:
        response = await generate(own, mode="cbn", output="legend")

    assert response.status_code == 200
    assert sim.accounts[KEY].balance == balance_after


async def test_cbn_at_ten_credits_with_five_left_is_402_with_remaining_and_cost(clock: FakeClock) -> None:
    sim = UniversSimulator(accounts={KEY: UniversAccount(balance=5)}, cbn_cost=10, delay_seconds=1, sleep=clock.sleep)
    async with connect(sim) as client:
        response = await generate(client, mode="cbn")

    assert response.status_code == 402
    assert response.json() == {
        "detail": {
            "error": "Insufficient credits",
            "remaining": 5,
            "cost": 10,
            "upgrade_url": "https://univers.studio/pricing/",
        }
    }
    assert sim.accounts[KEY].balance == 5
    assert clock.sleeps == []


async def test_ai_mode_is_always_one_coloring_png_and_costs_ten(
    client: httpx2.AsyncClient, sim: UniversSimulator
) -> None:
    response = await generate(client, mode="ai", output="zip", hint="a house", cbn_style="zen")

    assert response.status_code == 200, response.text
    assert attachment(response) == "garden-coloring.png"
    assert png(response).size == (256, 256)
    assert sim.accounts[KEY].balance == 90
