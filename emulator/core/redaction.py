"""What counts as a secret in recorded text: each secret in any letter case, its base64 forms
(also inside a longer base64 run, such as a Basic credential `user:key`), and every JWT-shaped
token, whoever signed it."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator

# header.payload.signature: base64url JSON objects (`{"` encodes as `eyJ`); the signature may
# be empty (alg none).
JWT_SHAPED = re.compile(r"eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
# Query parameters that carry credentials (api_key, apiKey, key, token, access_token, secret,
# password, auth, sig / signature, jwt, code...), and values shaped like a token whatever their
# name: the access log and the request journal both leave these out.
SECRET_PARAM = re.compile(r"key|token|secret|passw|auth|sig|jwt|credential|session|code", re.I)
TOKEN_SHAPED = re.compile(r"^[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*$")


def is_secret_param(name: str, value: str) -> bool:
    """Whether a query parameter's value is a credential, by its name or its shape."""
    return bool(SECRET_PARAM.search(name) or TOKEN_SHAPED.match(value))


# Shorter base64 runs would match ordinary text by chance.
MIN_BASE64_RUN = 8
BASE64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-")


class Redactor:
    """Finds the secrets of `secrets`, and JWT-shaped tokens, in text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        found = {s for s in secrets if s}
        literal = sorted(found, key=len, reverse=True)
        encoded = sorted({run for s in found for run in base64_runs(s)}, key=len, reverse=True)
        self.patterns: list[re.Pattern[str]] = [JWT_SHAPED]
        if literal:
            # Case-insensitive: an upper-cased key is the same key.
            self.patterns.append(re.compile("|".join(map(re.escape, literal)), re.IGNORECASE))
        self.encoded = re.compile("|".join(map(re.escape, encoded))) if encoded else None

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """Where secrets are in `text` (they may overlap)."""
        for pattern in self.patterns:
            for match in pattern.finditer(text):
                yield match.span()
        if self.encoded is not None:
            for match in self.encoded.finditer(text):
                # The whole base64 run: its other characters encode the secret's neighbours.
                start, end = match.span()
                while start > 0 and text[start - 1] in BASE64_CHARS:
                    start -= 1
                while end < len(text) and text[end] in BASE64_CHARS:
                    end += 1
                yield start, end

    def hide(self, text: str, replacement: str) -> str:
        """`text` with each secret (and the union of overlapping ones) replaced."""
        merged: list[list[int]] = []
        for start, end in sorted(self.spans(text)):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        for start, end in reversed(merged):
            text = text[:start] + replacement + text[end:]
        return text


def base64_runs(secret: str) -> set[str]:
    """The base64 text (standard and URL-safe) that `secret`'s bytes alone decide, for each of
    the three byte offsets it can start at inside a longer encoded run."""
    data = secret.encode()
    runs: set[str] = set()
    for offset in range(3):
        start_bit, end_bit = 8 * offset, 8 * (offset + len(data))
        first = -(-start_bit // 6)  # the first character that begins at or after the secret
        last = end_bit // 6  # characters before this one end inside the secret
        if last - first < MIN_BASE64_RUN:
            continue
        padded = b"\0" * offset + data + b"\0\0"
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            runs.add(encode(padded).decode()[first:last])
    return runs
