"""multipart/form-data both ways, byte-exact: the parser behind the emulator's upload endpoints and
the encoder the control API (`WebexEmulator.say(upload=...)`) and tests use.

File data is never decoded or re-wrapped (no newline or charset conversion), so what a client
uploads is exactly what a download answers.
"""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

__all__ = ["FormPart", "MultipartError", "attachment_disposition", "encode_form_data", "is_form_data",
           "parse_form_data"]

_HEADER_END = b"\r\n\r\n"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class MultipartError(ValueError):
    """A multipart/form-data body that cannot be parsed."""


@dataclass(frozen=True)
class FormPart:
    """One part of a form: a text field (`filename` None) or a file."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None  # the part's own Content-Type header, as sent

    @property
    def is_file(self) -> bool:
        return self.filename is not None

    def text(self) -> str:
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            raise MultipartError(f"form field {self.name!r} is not UTF-8 text") from None


def is_form_data(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "multipart/form-data"


def _boundary(content_type: str) -> bytes:
    if not is_form_data(content_type):
        raise MultipartError("the body is not multipart/form-data")
    header = email.message.Message()
    header["Content-Type"] = content_type
    boundary = header.get_boundary()
    if not boundary or len(boundary) > 200:
        raise MultipartError("the multipart/form-data Content-Type has no usable boundary")
    try:
        return boundary.encode("ascii")
    except UnicodeEncodeError:
        raise MultipartError("the multipart boundary is not ASCII") from None


def _part(raw: bytes) -> FormPart:
    if raw.startswith(b"\r\n"):
        head, data = b"", raw[2:]
    else:
        end = raw.find(_HEADER_END)
        if end < 0:
            raise MultipartError("a multipart part has no end of headers")
        head, data = raw[:end], raw[end + len(_HEADER_END):]
    headers = email.parser.HeaderParser(policy=email.policy.HTTP).parsestr(
        head.decode("utf-8", "replace") + "\r\n\r\n")
    disposition = headers.get("Content-Disposition")
    if disposition is None or str(disposition).split(";")[0].strip().lower() != "form-data":
        raise MultipartError("a multipart part lacks 'Content-Disposition: form-data'")
    name = headers.get_param("name", header="content-disposition")
    if not isinstance(name, str) or not name:
        raise MultipartError("a multipart part has no field name")
    filename = headers.get_filename()
    part_type = headers.get("Content-Type")
    return FormPart(name=name, data=data, filename=filename,
                    content_type=str(part_type).strip() if part_type is not None else None)


def parse_form_data(content_type: str, body: bytes) -> list[FormPart]:
    """The parts of a multipart/form-data body, in order (RFC 7578; CRLF line endings)."""
    delimiter = b"--" + _boundary(content_type)
    if body.startswith(delimiter):
        position = len(delimiter)
    else:
        found = body.find(b"\r\n" + delimiter)
        if found < 0:
            raise MultipartError("the multipart body does not contain its boundary")
        position = found + 2 + len(delimiter)
    parts: list[FormPart] = []
    while True:
        if body.startswith(b"--", position):
            return parts  # the close delimiter; anything after it is the epilogue
        line_end = body.find(b"\r\n", position)
        if line_end < 0 or body[position:line_end].strip(b" \t"):
            raise MultipartError("a multipart boundary line is malformed")
        start = line_end + 2
        end = body.find(b"\r\n" + delimiter, start)
        if end < 0:
            raise MultipartError("the multipart body ends without its closing boundary")
        parts.append(_part(body[start:end]))
        position = end + 2 + len(delimiter)


def _quoted_name(value: str) -> str:
    """A name or filename for a Content-Disposition of a form part (the WHATWG encoding)."""
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def encode_form_data(fields: Iterable[tuple[str, str]],
                     files: Iterable[tuple[str, str, bytes, str]] = ()) -> tuple[bytes, str]:
    """(body, Content-Type) of a form: text `fields` (name, value), then `files`
    (field name, filename, data, content type)."""
    texts = list(fields)
    uploads = list(files)
    payloads = [value.encode("utf-8") for _, value in texts] + [data for _, _, data, _ in uploads]
    while True:
        boundary = f"webex-emulator-{secrets.token_hex(16)}"
        if not any(boundary.encode("ascii") in payload for payload in payloads):
            break
    chunks: list[bytes] = []
    for name, value in texts:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted_name(name)}"\r\n\r\n'
                      .encode() + value.encode("utf-8") + b"\r\n")
    for name, filename, data, content_type in uploads:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted_name(name)}"; '
                      f'filename="{_quoted_name(filename)}"\r\nContent-Type: {content_type}\r\n\r\n'
                      .encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def attachment_disposition(filename: str) -> str:
    """`attachment; filename="greeting.wav"`, plus an RFC 5987 `filename*` when the name is not
    plain printable ASCII (the header itself always stays ASCII)."""
    plain = _CONTROL.sub("_", filename)
    fallback = plain.encode("ascii", "replace").decode("ascii").replace("\\", "\\\\").replace('"', '\\"')
    value = f'attachment; filename="{fallback}"'
    if fallback != filename:
        value += "; filename*=UTF-8''" + quote(plain, safe="")
    return value
