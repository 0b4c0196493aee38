"""A custom greeting a requester sends as a `.wav` file: checked before it is kept.

Webex Calling takes intercept greetings as WAV files (uploaded with
`POST .../features/intercept/actions/announcementUpload/invoke`). The bot keeps the file with the
request and uploads it only when the request is approved and applied.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAX_BYTES = 5 * 1024 * 1024  # 5 MB
MAX_SECONDS = 600.0
_FORMATS = {1: "PCM", 3: "IEEE float", 6: "A-law", 7: "µ-law"}


@dataclass(frozen=True)
class Wav:
    channels: int
    sample_rate: int
    bits: int
    encoding: str
    seconds: float

    def describe(self) -> str:
        return f"{self.seconds:.0f} s, {self.sample_rate // 1000} kHz {self.encoding}"


def read_wav(name: str, data: bytes) -> tuple[Wav | None, str]:
    """The WAV's facts, or None and a sentence saying why it will not do."""
    if not name.lower().endswith(".wav"):
        return None, f"“{name[:80]}” is not a .wav file: send the greeting as a WAV file."
    if len(data) > MAX_BYTES:
        return None, f"That file is {len(data) / 1048576:.1f} MB; a greeting may be at most {MAX_BYTES // 1048576} MB."
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None, f"“{name[:80]}” is not a WAV file inside: save it as WAV (RIFF/WAVE) and send it again."
    fmt: tuple[int, int, int, int, int] | None = None
    data_size = None
    offset = 12
    while offset + 8 <= len(data):
        chunk, size = data[offset:offset + 4], struct.unpack("<I", data[offset + 4:offset + 8])[0]
        body = data[offset + 8:offset + 8 + size]
        if chunk == b"fmt " and len(body) >= 16:
            audio_format, channels, rate, byte_rate, _align, bits = struct.unpack("<HHIIHH", body[:16])
            fmt = (audio_format, channels, rate, byte_rate, bits)
        elif chunk == b"data":
            data_size = min(size, len(data) - offset - 8)
        offset += 8 + size + (size & 1)
    if fmt is None or data_size is None:
        return None, f"“{name[:80]}” has no audio in it that I can read."
    audio_format, channels, rate, byte_rate, bits = fmt
    if audio_format not in _FORMATS or channels not in (1, 2) or not rate or not byte_rate:
        return None, f"“{name[:80]}” uses an audio encoding Webex does not take: use PCM or µ-law."
    seconds = data_size / byte_rate
    if seconds > MAX_SECONDS:
        return None, f"That greeting is {seconds / 60:.0f} minutes long; keep it under {MAX_SECONDS / 60:.0f}."
    return Wav(channels, rate, bits, _FORMATS[audio_format], seconds), ""
