"""The placeholder media the Kolbo simulator serves (from providers._sandbox.media): valid WAV, MP3 and MP4 files
of the requested length and size."""

from __future__ import annotations

import io
import struct
import wave
from collections.abc import Callable

import pytest

from providers._sandbox.media import placeholder_mp3, placeholder_mp4, silent_wav
from tests.providers.kolbo.support import mp4_boxes


def test_silent_wav_is_valid_pcm_of_the_requested_length() -> None:
    with wave.open(io.BytesIO(silent_wav(1.5))) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, 8000)
        assert reader.getnframes() == 12_000
        assert set(reader.readframes(reader.getnframes())) == {0}


def test_placeholder_mp3_has_an_id3_tag_then_mpeg1_layer3_frames_covering_the_duration() -> None:
    data = placeholder_mp3(3.0, title="Song")

    assert data.startswith(b"ID3\x03\x00")
    tag_size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
    frames = data[10 + tag_size :]
    assert frames[:2] == b"\xff\xfb"  # frame sync, MPEG-1, Layer III, no CRC
    assert len(frames) % 144 == 0
    assert len(frames) // 144 * 1152 / 32000 >= 3.0
    assert "Song".encode("utf-16-le") in data[:tag_size]


def test_placeholder_mp4_starts_with_an_isom_ftyp_box_and_carries_size_and_duration() -> None:
    data = placeholder_mp4(640, 360, 2.5)

    _, kind, brand = struct.unpack(">I4s4s", data[:12])
    assert (kind, brand) == (b"ftyp", b"isom")
    boxes = mp4_boxes(data)
    assert {b"ftyp", b"moov", b"mvhd", b"trak", b"tkhd", b"mdia", b"mdhd", b"hdlr", b"mdat"} <= set(boxes)
    assert struct.unpack(">II", boxes[b"mvhd"][12:20]) == (1000, 2500)
    assert struct.unpack(">II", boxes[b"tkhd"][-8:]) == (640 << 16, 360 << 16)
    assert boxes[b"hdlr"][8:12] == b"vide"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: silent_wav(-1), "duration must be a finite number"),
        (lambda: placeholder_mp3(float("inf")), "duration must be a finite number"),
        (lambda: placeholder_mp4(0, 10, 1), "video size must be between 1 and 65535"),
    ],
)
def test_placeholder_media_reject_impossible_arguments(make: Callable[[], bytes], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()
