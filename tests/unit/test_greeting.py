import io
import wave

from bot.domain.greeting import MAX_BYTES, read_wav


def wav_bytes(seconds: float = 2.0, rate: int = 8000, width: int = 2, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(b"\x00" * int(seconds * rate) * width * channels)
    return buffer.getvalue()


def test_a_pcm_wav_is_read() -> None:
    wav, problem = read_wav("leave.wav", wav_bytes(12.0, 16000))
    assert problem == "" and wav is not None
    assert (wav.sample_rate, wav.channels, wav.bits, wav.encoding) == (16000, 1, 16, "PCM")
    assert round(wav.seconds) == 12
    assert wav.describe() == "12 s, 16 kHz PCM"


def test_what_will_not_do_is_said() -> None:
    assert "not a .wav file" in read_wav("leave.mp3", wav_bytes())[1]
    assert "not a WAV file inside" in read_wav("leave.wav", b"ID3" + b"\x00" * 100)[1]
    assert "at most 5 MB" in read_wav("big.wav", b"RIFF" + b"\x00" * MAX_BYTES)[1]
    assert "no audio" in read_wav("empty.wav", b"RIFF\x04\x00\x00\x00WAVE")[1]
    long = wav_bytes(11 * 60, 4000, 1)  # small enough in bytes, too long in time
    assert "minutes long" in read_wav("long.wav", long)[1]


def test_a_truncated_file_does_not_crash() -> None:
    data = wav_bytes(1.0)
    for cut in (13, 20, 36, 44, len(data) - 1):
        wav, problem = read_wav("cut.wav", data[:cut])
        assert (wav is None) == bool(problem)
