"""Placeholder audio and video files made by the provider simulators (no encoder, nothing downloaded)."""

from __future__ import annotations

import io
import math
import struct
import wave

__all__ = ["placeholder_mp3", "placeholder_mp4", "silent_wav"]

WAV_SAMPLE_RATE = 8000
# MPEG-1 Layer III, 32 kbit/s, 32 kHz, mono, no CRC: 144 * 32000 / 32000 = 144 bytes and 1152 samples per frame.
_MP3_HEADER = bytes([0xFF, 0xFB, 0x18, 0xC0])
_MP3_FRAME_BYTES = 144
_MP3_SAMPLES_PER_FRAME = 1152
_MP3_SAMPLE_RATE = 32000
_MP4_TIMESCALE = 1000
_MP4_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
_PLACEHOLDER_NOTE = "genmcp sandbox placeholder"


def silent_wav(seconds: float) -> bytes:
    """A valid PCM WAV file (mono, 16-bit, 8 kHz) of `seconds` of silence."""
    _check_seconds(seconds)
    frames = round(seconds * WAV_SAMPLE_RATE)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(WAV_SAMPLE_RATE)
        writer.writeframes(b"\x00\x00" * frames)
    return buffer.getvalue()


def placeholder_mp3(seconds: float, *, title: str = _PLACEHOLDER_NOTE) -> bytes:
    """A placeholder MP3: an ID3v2.3 tag, then silent MPEG-1 Layer III frames (32 kbit/s CBR) lasting `seconds`.

    The frames carry all-zero side information and no audio data, which decoders play as digital silence; the file
    sniffs as audio/mpeg and its CBR length gives the right duration, but it is not a recording of anything.
    """
    _check_seconds(seconds)
    frames = max(1, math.ceil(seconds * _MP3_SAMPLE_RATE / _MP3_SAMPLES_PER_FRAME))
    frame = _MP3_HEADER + bytes(_MP3_FRAME_BYTES - len(_MP3_HEADER))
    return _id3_tag(title) + frame * frames


def placeholder_mp4(width: int, height: int, seconds: float) -> bytes:
    """A placeholder MP4: `ftyp` (isom) + `moov` (mvhd, one video trak header) + `free` + empty `mdat`.

    Enough for sniffing (video/mp4) and for reading the duration and frame size from the headers; it has no sample
    tables and no media data, so it is not playable.
    """
    if not (0 < width < 65536 and 0 < height < 65536):
        raise ValueError(f"video size must be between 1 and 65535, got {width}x{height}")
    _check_seconds(seconds)
    duration = round(seconds * _MP4_TIMESCALE)
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isom" + b"iso2" + b"mp41")
    mvhd = _full_box(
        b"mvhd",
        0,
        struct.pack(">IIIIIH10x", 0, 0, _MP4_TIMESCALE, duration, 0x00010000, 0x0100) + _MP4_MATRIX + bytes(24),
        struct.pack(">I", 2),
    )
    tkhd = _full_box(
        b"tkhd",
        3,  # track enabled and used in the presentation
        struct.pack(">IIIII8xHHH2x", 0, 0, 1, 0, duration, 0, 0, 0) + _MP4_MATRIX,
        struct.pack(">II", width << 16, height << 16),
    )
    mdhd = _full_box(b"mdhd", 0, struct.pack(">IIIIHH", 0, 0, _MP4_TIMESCALE, duration, _language_code("und"), 0))
    hdlr = _full_box(b"hdlr", 0, struct.pack(">I", 0) + b"vide" + bytes(12) + _PLACEHOLDER_NOTE.encode() + b"\x00")
    moov = _box(b"moov", mvhd + _box(b"trak", tkhd + _box(b"mdia", mdhd + hdlr)))
    free = _box(b"free", f"{_PLACEHOLDER_NOTE}: not playable".encode())
    return ftyp + moov + free + _box(b"mdat", b"")


def _check_seconds(seconds: float) -> None:
    if not (0 <= seconds < float("inf")):
        raise ValueError(f"duration must be a finite number of seconds >= 0, got {seconds!r}")


def _id3_tag(title: str) -> bytes:
    title_frame = _id3_frame(b"TIT2", b"\x01" + title.encode("utf-16"))
    comment = _id3_frame(b"COMM", b"\x00" + b"eng" + b"\x00" + _PLACEHOLDER_NOTE.encode("latin-1"))
    body = title_frame + comment
    size = len(body)
    # ID3v2 sizes are "syncsafe": 7 bits per byte.
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3" + bytes([3, 0, 0]) + syncsafe + body


def _id3_frame(frame_id: bytes, content: bytes) -> bytes:
    return frame_id + struct.pack(">IH", len(content), 0) + content


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full_box(kind: bytes, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", flags) + b"".join(parts))  # version 0 in the top byte


def _language_code(language: str) -> int:
    a, b, c = (ord(letter) - 0x60 for letter in language)
    return (a << 10) | (b << 5) | c
