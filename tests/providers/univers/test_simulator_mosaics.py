"""The simulator's hex and voronoi mystery mosaics, and how presets and parameters shape a page."""

from __future__ import annotations

import io

import httpx2
import pytest
from PIL import Image

from providers.univers.simulator import UniversSimulator
from providers.univers.simulator.images import MAX_LONG_SIDE
from tests.harness.clock import FakeClock
from tests.providers.univers.support import HOUSE, KEY, SCENE, SKY, SUN, attachment, generate, members, near, png, scene

pytestmark = pytest.mark.anyio


async def test_default_generate_is_a_hex_mosaic_zip_with_the_five_pages_and_costs_one_credit(
    client: httpx2.AsyncClient, sim: UniversSimulator, clock: FakeClock
) -> None:
    response = await generate(client)

    assert response.status_code == 200, response.text
    assert attachment(response) == "garden-mosaic.zip"
    files = members(response)
    assert sorted(files) == [
        "garden/garden-answer.png",
        "garden/garden-beauty.png",
        "garden/garden-legend.png",
        "garden/garden-mystery-full.png",
        "garden/garden-mystery.png",
    ]
    for content in files.values():
        assert Image.open(io.BytesIO(content)).format == "PNG"
    assert sim.accounts[KEY].balance == 99
    assert clock.sleeps == [2.5]


@pytest.mark.parametrize(
    ("output", "filename"),
    [
        ("mystery", "garden-mystery.png"),
        ("answer", "garden-answer.png"),
        ("beauty", "garden-beauty.png"),
        ("legend", "garden-legend.png"),
        ("full", "garden-mystery-full.png"),
    ],
)
async def test_hex_single_outputs_are_pngs_named_after_the_upload(
    client: httpx2.AsyncClient, output: str, filename: str
) -> None:
    response = await generate(client, mode="hex", output=output)

    assert response.status_code == 200, response.text
    assert attachment(response) == filename
    image = png(response)
    assert max(image.size) <= MAX_LONG_SIDE
    assert 95 <= image.info["dpi"][0] <= 105  # 300 dpi at the reduced render scale keeps the print size


async def test_hex_answer_is_recognisably_the_picture_and_the_mystery_page_is_outlines_on_white(
    client: httpx2.AsyncClient,
) -> None:
    answer = png(await generate(client, output="answer")).convert("RGB")
    mystery = png(await generate(client, output="mystery")).convert("RGB")

    scale = answer.width / 512
    assert near(answer.getpixel((int(100 * scale), int(60 * scale))), SKY)
    assert near(answer.getpixel((int(410 * scale), int(92 * scale))), SUN)
    assert near(answer.getpixel((int(170 * scale), int(300 * scale))), HOUSE)
    colours = mystery.getcolors(1 << 16)
    assert colours is not None
    assert max(colours, key=lambda c: c[0])[1] == (255, 255, 255)
    assert any(colour == (0, 0, 0) for _, colour in colours)


async def test_full_page_is_the_mystery_page_with_the_legend_below(client: httpx2.AsyncClient) -> None:
    mystery = png(await generate(client, output="mystery"))
    legend = png(await generate(client, output="legend"))
    full = png(await generate(client, output="full"))

    assert full.width == mystery.width
    assert full.height == mystery.height + 10 + legend.height


async def test_voronoi_zip_and_mystery_page(client: httpx2.AsyncClient, sim: UniversSimulator) -> None:
    archive = await generate(client, mode="voronoi", density="easy")
    page = await generate(client, mode="voronoi", density="expert", output="mystery")

    assert attachment(archive) == "garden-mosaic.zip"
    assert len(members(archive)) == 5
    assert attachment(page) == "garden-mystery.png"
    png(page)
    assert sim.accounts[KEY].balance == 98


async def test_mosaic_has_no_svg_so_output_svg_falls_back_to_the_zip(client: httpx2.AsyncClient) -> None:
    response = await generate(client, output="svg")

    assert attachment(response) == "garden-mosaic.zip"


@pytest.mark.parametrize(("mode", "label"), [("made-up", "mosaic"), ("pbn", "cbn"), ("HEX", "mosaic")])
async def test_unknown_mode_is_hex_and_pbn_is_color_by_number(
    client: httpx2.AsyncClient, mode: str, label: str
) -> None:
    response = await generate(client, mode=mode)

    assert attachment(response) == f"garden-{label}.zip"


async def test_jpeg_and_webp_uploads_are_accepted(client: httpx2.AsyncClient) -> None:
    jpeg = await generate(client, scene("JPEG"), filename="photo.jpg", content_type="image/jpeg", output="mystery")
    webp = await generate(client, scene("WEBP"), filename="photo.webp", content_type="image/webp", output="mystery")

    assert attachment(jpeg) == attachment(webp) == "photo-mystery.png"
    png(jpeg)
    png(webp)


@pytest.mark.parametrize(
    ("preset", "label"), [("cbn-kids", "cbn"), ("lineart-simple", "lineart"), ("voronoi-expert", "mosaic")]
)
async def test_preset_overrides_the_mode(client: httpx2.AsyncClient, preset: str, label: str) -> None:
    response = await generate(client, mode="hex", preset=preset)

    assert attachment(response) == f"garden-{label}.zip"


async def test_a4_page_and_a4_preset_give_a4_proportions_and_the_preset_wins_over_page(
    client: httpx2.AsyncClient,
) -> None:
    letter = png(await generate(client, output="mystery"))
    a4 = png(await generate(client, output="mystery", page="a4"))
    preset = png(await generate(client, output="mystery", page="letter", preset="kdp-a4"))
    unknown_page = png(await generate(client, output="mystery", page="tabloid"))

    assert a4.size == preset.size
    assert a4.width < letter.width
    assert unknown_page.size == letter.size


async def test_unknown_preset_is_ignored(client: httpx2.AsyncClient) -> None:
    response = await generate(client, mode="lineart", preset="no-such-preset")

    assert attachment(response) == "garden-lineart.zip"


async def test_colors_are_clamped_to_4_through_20(client: httpx2.AsyncClient) -> None:
    async def legend(colors: str) -> bytes:
        return (await generate(client, output="legend", colors=colors)).content

    assert await legend("1") == await legend("4")
    assert await legend("99") == await legend("20")
    assert await legend("4") != await legend("20")


async def test_cell_size_is_clamped(client: httpx2.AsyncClient) -> None:
    async def mystery(cell_size: str) -> bytes:
        return (await generate(client, output="mystery", cell_size=cell_size)).content

    assert await mystery("5") == await mystery("12")
    assert await mystery("12") != await mystery("50")


async def test_non_integer_field_is_a_fastapi_style_422(client: httpx2.AsyncClient, sim: UniversSimulator) -> None:
    response = await generate(client, colors="lots")

    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "int_parsing",
                "loc": ["body", "colors"],
                "msg": "Input should be a valid integer, unable to parse string as an integer",
                "input": "lots",
            }
        ]
    }
    assert sim.accounts[KEY].balance == 100


async def test_missing_image_is_422(client: httpx2.AsyncClient) -> None:
    response = await client.post("/api/generate", data={"mode": "hex"}, files={"other": ("a.png", SCENE, "image/png")})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "image"]
    assert response.json()["detail"][0]["type"] == "missing"
