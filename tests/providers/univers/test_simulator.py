from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import httpx2
import pytest
from PIL import Image, ImageDraw

from providers.univers import simulator_render as univers_render
from providers.univers.simulator import PRESETS, UniversAccount, UniversSimulator

KEY = "us_live_" + "a1" * 20
OTHER_KEY = "us_live_" + "b2" * 20
AUTH = {"Authorization": f"Bearer {KEY}"}
SVG = "{http://www.w3.org/2000/svg}"
SKY, SUN, HOUSE = (135, 200, 240), (250, 210, 40), (200, 80, 60)


def scene(fmt: str = "PNG", size: int = 512) -> bytes:
    """A simple picture with flat shapes: sky, sun, house, tree and a grass gradient."""
    image = Image.new("RGB", (size, size), SKY)
    draw = ImageDraw.Draw(image)
    for y in range(size // 2, size):
        draw.line([(0, y), (size, y)], fill=(60, 160 - (y - size // 2) * 40 // size, 70))
    s = size / 100
    draw.ellipse([70 * s, 8 * s, 90 * s, 28 * s], fill=SUN)
    draw.rectangle([18 * s, 42 * s, 48 * s, 72 * s], fill=HOUSE)
    draw.polygon([(14 * s, 44 * s), (33 * s, 26 * s), (52 * s, 44 * s)], fill=(120, 40, 30))
    draw.rectangle([62 * s, 50 * s, 66 * s, 75 * s], fill=(110, 70, 30))
    draw.ellipse([54 * s, 30 * s, 74 * s, 56 * s], fill=(30, 120, 40))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


SCENE = scene()
TINY = scene(size=32)


class RecordingSleep:
    """Stands in for anyio.sleep: records the delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await anyio.lowlevel.checkpoint()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def sim(sleep: RecordingSleep) -> UniversSimulator:
    accounts = {KEY: UniversAccount(balance=100), OTHER_KEY: UniversAccount(plan_name="creator", balance=50)}
    return UniversSimulator(accounts=accounts, delay_seconds=2.5, sleep=sleep)


@pytest.fixture
async def client(sim: UniversSimulator) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=sim.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as client:
        yield client


async def generate(
    client: httpx2.AsyncClient,
    image: bytes = SCENE,
    *,
    filename: str = "garden.png",
    content_type: str = "image/png",
    **fields: str,
) -> httpx2.Response:
    return await client.post("/api/generate", data=fields, files={"image": (filename, image, content_type)})


def png(response: httpx2.Response) -> Image.Image:
    assert response.headers["content-type"] == "image/png", response.text
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    image.load()
    return image


def svg(content: bytes) -> ET.Element:
    root = ET.fromstring(content)
    assert root.tag == f"{SVG}svg"
    return root


def members(response: httpx2.Response) -> dict[str, bytes]:
    assert response.headers["content-type"] == "application/zip", response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def attachment(response: httpx2.Response) -> str:
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    assert disposition.endswith('"')
    return disposition[len('attachment; filename="') : -1]


def near(colour: Any, expected: tuple[int, int, int], tolerance: int = 30) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


# --- generate: mosaics ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_default_generate_is_a_hex_mosaic_zip_with_the_five_pages_and_costs_one_credit(
    client: httpx2.AsyncClient, sim: UniversSimulator, sleep: RecordingSleep
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
    assert sleep.delays == [2.5]


@pytest.mark.anyio
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
    assert max(image.size) <= univers_render.MAX_LONG_SIDE
    assert 95 <= image.info["dpi"][0] <= 105  # 300 dpi at the reduced render scale keeps the print size


@pytest.mark.anyio
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


@pytest.mark.anyio
async def test_full_page_is_the_mystery_page_with_the_legend_below(client: httpx2.AsyncClient) -> None:
    mystery = png(await generate(client, output="mystery"))
    legend = png(await generate(client, output="legend"))
    full = png(await generate(client, output="full"))

    assert full.width == mystery.width
    assert full.height == mystery.height + 10 + legend.height


@pytest.mark.anyio
async def test_voronoi_zip_and_mystery_page(client: httpx2.AsyncClient, sim: UniversSimulator) -> None:
    archive = await generate(client, mode="voronoi", density="easy")
    page = await generate(client, mode="voronoi", density="expert", output="mystery")

    assert attachment(archive) == "garden-mosaic.zip"
    assert len(members(archive)) == 5
    assert attachment(page) == "garden-mystery.png"
    png(page)
    assert sim.accounts[KEY].balance == 98


@pytest.mark.anyio
async def test_mosaic_has_no_svg_so_output_svg_falls_back_to_the_zip(client: httpx2.AsyncClient) -> None:
    response = await generate(client, output="svg")

    assert attachment(response) == "garden-mosaic.zip"


@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "label"), [("made-up", "mosaic"), ("pbn", "cbn"), ("HEX", "mosaic")])
async def test_unknown_mode_is_hex_and_pbn_is_color_by_number(
    client: httpx2.AsyncClient, mode: str, label: str
) -> None:
    response = await generate(client, mode=mode)

    assert attachment(response) == f"garden-{label}.zip"


@pytest.mark.anyio
async def test_jpeg_and_webp_uploads_are_accepted(client: httpx2.AsyncClient) -> None:
    jpeg = await generate(client, scene("JPEG"), filename="photo.jpg", content_type="image/jpeg", output="mystery")
    webp = await generate(client, scene("WEBP"), filename="photo.webp", content_type="image/webp", output="mystery")

    assert attachment(jpeg) == attachment(webp) == "photo-mystery.png"
    png(jpeg)
    png(webp)


# --- generate: line art and color by number ------------------------------------------------------


@pytest.mark.anyio
async def test_lineart_zip_has_png_and_svg(client: httpx2.AsyncClient) -> None:
    response = await generate(client, mode="lineart")

    assert attachment(response) == "garden-lineart.zip"
    files = members(response)
    assert sorted(files) == ["garden/garden-lineart.png", "garden/garden-lineart.svg"]
    svg(files["garden/garden-lineart.svg"])


@pytest.mark.anyio
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


@pytest.mark.anyio
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


@pytest.mark.anyio
async def test_lineart_preview_is_smaller_than_the_page(client: httpx2.AsyncClient) -> None:
    page = png(await generate(client, mode="lineart", output="png"))
    preview = png(await generate(client, mode="lineart", output="preview"))

    assert preview.width < page.width


@pytest.mark.anyio
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
    assert all(text.text and text.text.isdigit() for text in numbers)
    fills = [path.get("fill", "") for path in svg(files["garden/garden-answer.svg"]).findall(f"{SVG}path")]
    assert fills
    assert all(fill.startswith("rgb(") for fill in fills)


@pytest.mark.anyio
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


@pytest.mark.anyio
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


@pytest.mark.anyio
@pytest.mark.parametrize(("cbn_cost", "balance_after"), [(1, 99), (10, 90)])
async def test_cbn_cost_follows_the_configured_price(cbn_cost: int, balance_after: int) -> None:
    sim = UniversSimulator(accounts={KEY: UniversAccount(balance=100)}, cbn_cost=cbn_cost)
    transport = httpx2.ASGITransport(app=sim.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as own:
        response = await generate(own, mode="cbn", output="legend")

    assert response.status_code == 200
    assert sim.accounts[KEY].balance == balance_after


@pytest.mark.anyio
async def test_cbn_at_ten_credits_with_five_left_is_402_with_remaining_and_cost(sleep: RecordingSleep) -> None:
    sim = UniversSimulator(accounts={KEY: UniversAccount(balance=5)}, cbn_cost=10, delay_seconds=1, sleep=sleep)
    transport = httpx2.ASGITransport(app=sim.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as client:
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
    assert sleep.delays == []


@pytest.mark.anyio
async def test_ai_mode_is_always_one_coloring_png_and_costs_ten(
    client: httpx2.AsyncClient, sim: UniversSimulator
) -> None:
    response = await generate(client, mode="ai", output="zip", hint="a house", cbn_style="zen")

    assert response.status_code == 200, response.text
    assert attachment(response) == "garden-coloring.png"
    assert png(response).size == (256, 256)
    assert sim.accounts[KEY].balance == 90


# --- generate: presets and parameters ------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("preset", "label"), [("cbn-kids", "cbn"), ("lineart-simple", "lineart"), ("voronoi-expert", "mosaic")]
)
async def test_preset_overrides_the_mode(client: httpx2.AsyncClient, preset: str, label: str) -> None:
    response = await generate(client, mode="hex", preset=preset)

    assert attachment(response) == f"garden-{label}.zip"


@pytest.mark.anyio
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


@pytest.mark.anyio
async def test_unknown_preset_is_ignored(client: httpx2.AsyncClient) -> None:
    response = await generate(client, mode="lineart", preset="no-such-preset")

    assert attachment(response) == "garden-lineart.zip"


@pytest.mark.anyio
async def test_colors_are_clamped_to_4_through_20(client: httpx2.AsyncClient) -> None:
    async def legend(colors: str) -> bytes:
        return (await generate(client, output="legend", colors=colors)).content

    assert await legend("1") == await legend("4")
    assert await legend("99") == await legend("20")
    assert await legend("4") != await legend("20")


@pytest.mark.anyio
async def test_cell_size_is_clamped(client: httpx2.AsyncClient) -> None:
    async def mystery(cell_size: str) -> bytes:
        return (await generate(client, output="mystery", cell_size=cell_size)).content

    assert await mystery("5") == await mystery("12")
    assert await mystery("12") != await mystery("50")


@pytest.mark.anyio
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


@pytest.mark.anyio
async def test_missing_image_is_422(client: httpx2.AsyncClient) -> None:
    response = await client.post("/api/generate", data={"mode": "hex"}, files={"other": ("a.png", SCENE, "image/png")})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "image"]
    assert response.json()["detail"][0]["type"] == "missing"


# --- generate: upload validation -----------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("content", "content_type", "detail"),
    [
        (b"just some text, not a picture", "image/png", "Unsupported image type: image/png ("),
        (SCENE, "text/plain", "Unsupported image type: text/plain"),
        (SCENE, "image/gif", "Unsupported image type: image/gif"),
        (SCENE[:200], "image/png", "Unsupported image type: image/png ("),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 10_000_000, "image/png", "Image too large (max 10 MB)"),
    ],
)
async def test_bad_uploads_are_400_and_charge_nothing(
    client: httpx2.AsyncClient,
    sim: UniversSimulator,
    sleep: RecordingSleep,
    content: bytes,
    content_type: str,
    detail: str,
) -> None:
    response = await generate(client, content, filename="notes.png", content_type=content_type)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)
    assert sim.accounts[KEY].balance == 100
    assert sleep.delays == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("filename", "expected"), [("C:\\pics\\café.png", "caf_-legend.png"), ("a/b/ünï.jpg", "_n_-legend.png")]
)
async def test_attachment_name_is_the_upload_stem_made_header_safe(
    client: httpx2.AsyncClient, filename: str, expected: str
) -> None:
    response = await generate(client, filename=filename, output="legend")

    assert attachment(response) == expected


@pytest.mark.anyio
async def test_malformed_multipart_body_is_400(client: httpx2.AsyncClient) -> None:
    response = await client.post("/api/generate", content=b"garbage", headers={"Content-Type": "multipart/form-data"})

    assert response.status_code == 400
    assert response.json() == {"detail": "There was an error parsing the body"}


# --- credits, delay and upstream failures --------------------------------------------------------


@pytest.mark.anyio
async def test_generation_waits_for_the_delay_before_answering_and_charges_only_then() -> None:
    started, release = anyio.Event(), anyio.Event()
    delays: list[float] = []

    async def held_sleep(seconds: float) -> None:
        delays.append(seconds)
        started.set()
        await release.wait()

    sim = UniversSimulator(accounts={KEY: UniversAccount(balance=10)}, delay_seconds=30.0, sleep=held_sleep)
    responses: list[httpx2.Response] = []
    transport = httpx2.ASGITransport(app=sim.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as client:

        async def call() -> None:
            responses.append(await generate(client, output="legend"))

        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            await started.wait()
            assert delays == [30.0]
            assert responses == []
            assert sim.accounts[KEY].balance == 10
            release.set()

    assert responses[0].status_code == 200
    assert sim.accounts[KEY].balance == 9


@pytest.mark.anyio
async def test_upstream_failure_in_hint_is_502_after_the_delay_and_charges_nothing(
    client: httpx2.AsyncClient, sim: UniversSimulator, sleep: RecordingSleep
) -> None:
    response = await generate(client, mode="ai", hint="a cat [upstream-fail]")

    assert response.status_code == 502
    assert response.json()["detail"].startswith("Image API error: ")
    assert sleep.delays == [2.5]
    assert sim.accounts[KEY].balance == 100


@pytest.mark.anyio
async def test_insufficient_balance_for_a_mosaic_is_402_with_remaining(
    client: httpx2.AsyncClient, sim: UniversSimulator
) -> None:
    sim.accounts[KEY].balance = 0

    response = await generate(client)

    assert response.status_code == 402
    assert response.json()["detail"]["error"] == "Insufficient credits"
    assert response.json()["detail"]["remaining"] == 0
    assert response.json()["detail"]["cost"] == 1


@pytest.mark.anyio
async def test_balance_endpoint_reports_the_account_and_follows_spending(
    client: httpx2.AsyncClient, sim: UniversSimulator
) -> None:
    await generate(client, output="legend")

    response = await client.get("/api/credits/balance")

    assert response.json() == {"balance": 99, "monthly_quota": 800, "plan_name": "commercial", "sub_status": "active"}


@pytest.mark.anyio
async def test_quota_endpoint_for_an_account(client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/quota")

    assert response.json() == {"remaining": 100, "limit": 800, "plan": "commercial", "authenticated": True}


# --- auth modes and plans ------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("header", [None, "Bearer us_live_" + "0" * 40, "Basic abc", "Bearer "])
async def test_bad_or_missing_key_is_401_in_401_mode(
    client: httpx2.AsyncClient, sim: UniversSimulator, header: str | None
) -> None:
    client.headers.pop("Authorization")
    headers = {} if header is None else {"Authorization": header}

    for response in [
        await client.post("/api/generate", files={"image": ("a.png", SCENE, "image/png")}, headers=headers),
        await client.post("/api/bulk", files={"images": ("a.png", SCENE, "image/png")}, headers=headers),
        await client.post("/api/ai-image", data={"prompt": "a cat"}, headers=headers),
        await client.get("/api/credits/balance", headers=headers),
        await client.get("/api/quota", headers=headers),
    ]:
        assert response.status_code == 401
        assert response.json() == {"detail": "Not authenticated"}
    assert (await client.get("/api/presets", headers=headers)).status_code == 200


@pytest.mark.anyio
async def test_bad_key_in_anonymous_mode_gets_three_free_generations_with_a_smaller_zip_then_429(
    sleep: RecordingSleep,
) -> None:
    sim = UniversSimulator(invalid_key_mode="anonymous", sleep=sleep)
    headers = {"Authorization": "Bearer us_live_" + "0" * 40}
    transport = httpx2.ASGITransport(app=sim.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim", headers=headers) as client:
        assert (await client.get("/api/quota")).json() == {"remaining": 3, "limit": 3, "authenticated": False}
        first = await generate(client, TINY)
        assert sorted(members(first)) == ["garden/garden-mystery-full.png"]
        assert (await generate(client, TINY, mode="cbn")).json() == {
            "detail": "Color by Number requires an account. Sign up free at univers.studio!"
        }
        assert (await generate(client, TINY, mode="ai")).status_code == 403
        lineart = await generate(client, TINY, mode="lineart")
        assert sorted(members(lineart)) == ["garden/garden-lineart.png"]
        assert (await generate(client, TINY, output="legend")).status_code == 200
        assert (await client.get("/api/quota")).json()["remaining"] == 0

        limited = await generate(client, TINY)

        assert limited.status_code == 429
        assert limited.json()["detail"]["error"] == "Free limit reached"
        assert (await client.get("/api/credits/balance")).json() == {"detail": "Not authenticated"}
    assert sim.accounts["us_live_sandbox"].balance == 800


@pytest.mark.anyio
async def test_account_on_another_plan_is_403_for_generation_but_can_read_its_balance(
    client: httpx2.AsyncClient, sim: UniversSimulator
) -> None:
    other = {"Authorization": f"Bearer {OTHER_KEY}"}

    response = await client.post("/api/generate", files={"image": ("a.png", SCENE, "image/png")}, headers=other)

    assert response.status_code == 403
    assert isinstance(response.json()["detail"], str)
    assert (await client.post("/api/ai-image", data={"prompt": "a cat"}, headers=other)).status_code == 403
    assert (await client.get("/api/credits/balance", headers=other)).json()["plan_name"] == "creator"
    assert sim.accounts[OTHER_KEY].balance == 50


# --- bulk ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_bulk_skips_invalid_images_and_charges_per_processed_image(
    client: httpx2.AsyncClient, sim: UniversSimulator, sleep: RecordingSleep
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
    assert sleep.delays == [2.5]


@pytest.mark.anyio
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


@pytest.mark.anyio
async def test_bulk_cbn_costs_one_credit_per_image_even_when_cbn_costs_ten(sleep: RecordingSleep) -> None:
    sim = UniversSimulator(accounts={KEY: UniversAccount(balance=20)}, cbn_cost=10, sleep=sleep)
    transport = httpx2.ASGITransport(app=sim.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as client:
        files = [("images", ("a.png", TINY, "image/png")), ("images", ("b.png", TINY, "image/png"))]
        response = await client.post("/api/bulk", data={"preset": "cbn-kids"}, files=files)

    assert response.status_code == 200, response.text
    assert "a/a-mystery.svg" in members(response)
    assert sim.accounts[KEY].balance == 18


@pytest.mark.anyio
async def test_bulk_with_only_invalid_images_is_400(client: httpx2.AsyncClient, sim: UniversSimulator) -> None:
    files = [("images", ("a.txt", b"hello", "text/plain")), ("images", ("b.png", b"nope", "image/png"))]

    response = await client.post("/api/bulk", files=files)

    assert response.status_code == 400
    assert response.json() == {"detail": "No valid images processed"}
    assert sim.accounts[KEY].balance == 100


@pytest.mark.anyio
async def test_bulk_of_51_images_is_400(client: httpx2.AsyncClient, sim: UniversSimulator) -> None:
    files = [("images", (f"{n}.png", TINY, "image/png")) for n in range(51)]

    response = await client.post("/api/bulk", files=files)

    assert response.status_code == 400
    assert response.json() == {"detail": "Too many images (max 50)"}
    assert sim.accounts[KEY].balance == 100


@pytest.mark.anyio
async def test_bulk_needs_a_credit_for_every_uploaded_image(client: httpx2.AsyncClient, sim: UniversSimulator) -> None:
    sim.accounts[KEY].balance = 2
    files = [("images", (f"{n}.png", TINY, "image/png")) for n in range(3)]

    response = await client.post("/api/bulk", files=files)

    assert response.status_code == 402
    detail = response.json()["detail"]
    assert (detail["error"], detail["remaining"], detail["requested"]) == ("Insufficient credits", 2, 3)
    assert sim.accounts[KEY].balance == 2


@pytest.mark.anyio
async def test_bulk_without_images_is_422(client: httpx2.AsyncClient) -> None:
    response = await client.post("/api/bulk", data={"mode": "hex"}, files={"other": ("a.png", TINY, "image/png")})

    assert response.status_code == 422


# --- ai-image ------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("size", "pixels"),
    [
        ("1024x1024", (256, 256)),
        ("1024x1536", (256, 384)),
        ("1536x1024", (384, 256)),
        ("2048x2048", (256, 256)),
        (None, (256, 256)),
    ],
)
async def test_ai_image_is_drawn_at_a_quarter_of_the_requested_size(
    client: httpx2.AsyncClient, size: str | None, pixels: tuple[int, int]
) -> None:
    data = {"prompt": "a cute unicorn in a flower garden", "style": "coloring"}
    if size is not None:
        data["size"] = size

    response = await client.post("/api/ai-image", data=data)

    assert response.status_code == 200, response.text
    assert attachment(response) == "ai-image.png"
    assert png(response).size == pixels


@pytest.mark.anyio
@pytest.mark.parametrize(("quality", "cost"), [("low", 1), ("medium", 3), ("high", 10), ("ultra", 1), (None, 1)])
async def test_ai_image_cost_follows_quality(
    client: httpx2.AsyncClient, sim: UniversSimulator, quality: str | None, cost: int
) -> None:
    data = {"prompt": "a castle"} if quality is None else {"prompt": "a castle", "quality": quality}

    response = await client.post("/api/ai-image", data=data)

    assert response.status_code == 200
    assert sim.accounts[KEY].balance == 100 - cost


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("prompt", "status", "detail"),
    [
        ("  ab  ", 400, "Prompt must be at least 3 characters"),
        ("x" * 1001, 400, "Prompt must be under 1000 characters"),
    ],
)
async def test_ai_image_prompt_length_is_checked_after_trimming(
    client: httpx2.AsyncClient, sim: UniversSimulator, prompt: str, status: int, detail: str
) -> None:
    response = await client.post("/api/ai-image", data={"prompt": prompt})

    assert response.status_code == status
    assert response.json() == {"detail": detail}
    assert sim.accounts[KEY].balance == 100


@pytest.mark.anyio
async def test_ai_image_accepts_a_trimmed_1000_character_prompt(client: httpx2.AsyncClient) -> None:
    response = await client.post("/api/ai-image", data={"prompt": "  " + "y" * 1000 + "  "})

    assert response.status_code == 200


@pytest.mark.anyio
async def test_ai_image_without_prompt_is_422(client: httpx2.AsyncClient) -> None:
    response = await client.post("/api/ai-image", data={"style": "sticker"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "prompt"]


@pytest.mark.anyio
async def test_ai_image_high_quality_without_ten_credits_is_402(
    client: httpx2.AsyncClient, sim: UniversSimulator
) -> None:
    sim.accounts[KEY].balance = 4

    response = await client.post("/api/ai-image", data={"prompt": "a castle", "quality": "high"})

    assert response.status_code == 402
    detail = response.json()["detail"]
    assert (detail["error"], detail["remaining"], detail["cost"]) == ("Insufficient credits", 4, 10)
    assert sim.accounts[KEY].balance == 4


@pytest.mark.anyio
async def test_ai_image_upstream_failure_is_502_and_free(
    client: httpx2.AsyncClient, sim: UniversSimulator, sleep: RecordingSleep
) -> None:
    response = await client.post("/api/ai-image", data={"prompt": "a castle [upstream-fail]", "quality": "medium"})

    assert response.status_code == 502
    assert response.json()["detail"].startswith("Image API error: ")
    assert sim.accounts[KEY].balance == 100
    assert sleep.delays == [2.5]


@pytest.mark.anyio
async def test_anonymous_ai_image_uses_as_many_free_generations_as_it_costs(sleep: RecordingSleep) -> None:
    sim = UniversSimulator(invalid_key_mode="anonymous", sleep=sleep)
    transport = httpx2.ASGITransport(app=sim.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim") as client:
        assert (await client.post("/api/ai-image", data={"prompt": "a castle", "quality": "medium"})).status_code == 200
        limited = await client.post("/api/ai-image", data={"prompt": "a castle"})

    assert limited.status_code == 429
    assert limited.json()["detail"]["error"] == "Free quota exceeded"


# --- presets, routing, faults --------------------------------------------------------------------


@pytest.mark.anyio
async def test_presets_are_listed_without_auth_keyed_by_name(client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/presets", headers={"Authorization": ""})

    body = response.json()
    assert response.status_code == 200
    assert set(body) == set(PRESETS)
    assert len(body) == 17
    assert body["kdp-letter"] == {
        "label": "KDP 8.5×11 no bleed",
        "page": "letter",
        "cell_size": 25,
        "colors": 12,
        "landscape": False,
        "mode": "hex",
        "voronoi_density": None,
        "min_zone_pixels": None,
        "lineart_detail": None,
        "lineart_thickness": None,
    }
    assert body["voronoi-easy"]["voronoi_density"] == "easy"
    assert (body["cbn-kids"]["min_zone_pixels"], body["cbn-kids"]["colors"]) == (1000, 6)
    assert (body["lineart-expert"]["lineart_detail"], body["lineart-expert"]["lineart_thickness"]) == ("expert", 1)
    assert body["cbn-a4"]["page"] == "a4"


@pytest.mark.anyio
async def test_unknown_route_and_wrong_method_answer_fastapi_style_json(client: httpx2.AsyncClient) -> None:
    missing = await client.get("/api/nothing")
    wrong = await client.get("/api/generate")

    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    assert (wrong.status_code, wrong.json()) == (405, {"detail": "Method Not Allowed"})


@pytest.mark.anyio
async def test_fault_answers_once_and_the_request_log_counts_it(
    client: httpx2.AsyncClient, sim: UniversSimulator
) -> None:
    sim.faults.add("POST", "/api/generate", status=503, body={"detail": "busy"})

    faulted = await generate(client, output="legend")
    real = await generate(client, output="legend")

    assert (faulted.status_code, faulted.json()) == (503, {"detail": "busy"})
    assert real.status_code == 200
    assert sim.accounts[KEY].balance == 99
    assert sim.requests.count("POST /api/generate") == 2


# --- renders -------------------------------------------------------------------------------------


def test_color_by_number_render_is_deterministic() -> None:
    image = univers_render.open_image(SCENE)

    first = univers_render.render_color_by_number(image, colors=12)
    again = univers_render.render_color_by_number(image, colors=12)

    assert first.mystery_svg == again.mystery_svg
    assert first.zone_count >= 5
    assert len(first.palette) <= 12


def test_transparent_png_is_flattened_on_white() -> None:
    clear = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    buffer = io.BytesIO()
    clear.save(buffer, format="PNG")

    image = univers_render.open_image(buffer.getvalue())

    assert image.mode == "RGB"
    assert image.getpixel((10, 10)) == (255, 255, 255)
