"""Provider failures as one exception type with a kind the UI can explain in plain words.

What a provider says can echo the request's key (``Bearer sk-…``): every text that leaves
here, for a person or for a log, is scrubbed of keys and bearer tokens first (``scrub``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    UNREACHABLE = "unreachable"
    RATE_LIMITED = "rate_limited"
    CONTEXT_TOO_LONG = "context_too_long"
    UNAUTHORIZED = "unauthorized"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    BAD_REQUEST = "bad_request"
    SERVER_ERROR = "server_error"
    STREAM_ERROR = "stream_error"
    INTERRUPTED = "interrupted"
    TIMEOUT = "timeout"
    THINKING_BUDGET = "thinking_budget"
    PREFILL_IGNORED = "prefill_ignored"
    REDIRECTED = "redirected"
    HOST_NOT_ALLOWED = "host_not_allowed"


PLAIN_WORDS: dict[ErrorKind, str] = {
    ErrorKind.UNREACHABLE: "The provider could not be reached.",
    ErrorKind.RATE_LIMITED: "The provider is rate limiting requests. Wait a moment and retry.",
    ErrorKind.CONTEXT_TOO_LONG: "The conversation is too long for the model's context window.",
    ErrorKind.UNAUTHORIZED: "The provider rejected the API key.",
    ErrorKind.INSUFFICIENT_BALANCE: "The provider account has insufficient balance.",
    ErrorKind.BAD_REQUEST: "The provider rejected the request.",
    ErrorKind.SERVER_ERROR: "The provider had an internal error.",
    ErrorKind.STREAM_ERROR: "The provider reported an error in the middle of the answer.",
    ErrorKind.INTERRUPTED: "The answer was interrupted before it finished.",
    ErrorKind.TIMEOUT: "The provider stopped responding.",
    ErrorKind.THINKING_BUDGET: (
        "The thinking reached its budget and was stopped. This provider cannot continue an "
        "answer from the thinking (no assistant prefill), so there is no answer; the thinking "
        "is kept. Raise the budget, or use a provider that supports prefill."
    ),
    ErrorKind.PREFILL_IGNORED: (
        "The thinking reached its budget and was stopped, but the provider ignored the closed "
        "thinking it was given and began to think again, so there is no answer; the thinking "
        "is kept, up to the budget. Raise the budget, or mark the provider as not supporting "
        "prefill."
    ),
    ErrorKind.REDIRECTED: (
        "The provider answered with a redirect, which is never followed (the conversation "
        "and the key would go to another host). Check the provider's base URL."
    ),
    ErrorKind.HOST_NOT_ALLOWED: (
        "The provider's host is not one this instance may connect to. Ask the instance admin "
        "to check the provider's base URL."
    ),
}

# MiniMax's native API answers HTTP 200 with base_resp.status_code != 0 on errors (design §4).
MINIMAX_STATUS_KINDS: dict[int, ErrorKind] = {
    1002: ErrorKind.RATE_LIMITED,
    1004: ErrorKind.UNAUTHORIZED,
    1008: ErrorKind.INSUFFICIENT_BALANCE,
    1039: ErrorKind.CONTEXT_TOO_LONG,
    2013: ErrorKind.BAD_REQUEST,
    2049: ErrorKind.UNAUTHORIZED,
}


# Codes OpenAI-style error objects carry in ``error.code`` or ``error.type``.
ERROR_CODE_KINDS: dict[str, ErrorKind] = {
    "insufficient_quota": ErrorKind.INSUFFICIENT_BALANCE,
    "insufficient_balance": ErrorKind.INSUFFICIENT_BALANCE,
    "rate_limit_exceeded": ErrorKind.RATE_LIMITED,
    "invalid_api_key": ErrorKind.UNAUTHORIZED,
    "authentication_error": ErrorKind.UNAUTHORIZED,
    "context_length_exceeded": ErrorKind.CONTEXT_TOO_LONG,
    "server_error": ErrorKind.SERVER_ERROR,
}

MAX_BODY_CHARS = 4_000  # of a provider's raw error body, kept for the instance admin

REDACTED = "[redacted]"
# Keys and tokens whatever the provider: bearer tokens, OpenAI-style keys (sk-…, sk-or-v1-…),
# JWTs (MiniMax keys are JWTs), and key=value / "api_key": "…" pairs.
_SECRET_PATTERNS = [
    (re.compile(r"(?i)\b(bearer\s+)[\w.~+/=-]{4,}"), rf"\g<1>{REDACTED}"),
    (re.compile(r"\bsk-[\w-]{6,}"), REDACTED),
    (re.compile(r"\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*"), REDACTED),
    (
        re.compile(
            r"""(?i)\b((?:api[_-]?key|access[_-]?token|secret)["']?\s*[:=]\s*["']?)[^\s"',;&}]{4,}"""
        ),
        rf"\g<1>{REDACTED}",
    ),
]
# A key shorter than this is not searched for word for word (it would mangle ordinary text);
# the patterns above still apply.
MIN_SECRET_CHARS = 6


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without the given secrets (word for word) and without anything that looks like
    a key or a bearer token."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_CHARS:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class ProviderError(Exception):
    """A provider failure. ``detail`` is short and shown to whoever reads the chat; ``body`` is
    the provider's raw answer, for the instance admin only. Both are scrubbed of keys; the key
    of the request is scrubbed word for word by ``redact`` (the client knows it)."""

    def __init__(
        self,
        kind: ErrorKind,
        detail: str = "",
        status: int | None = None,
        *,
        body: str = "",
        refused: bool = False,
    ) -> None:
        self.kind = kind
        self.status = status
        # The provider's own refusal (an error code in a body): ``detail`` is its words.
        self.refused = refused
        # Kept whole and cut only when read: a key cut in two by a length limit would no
        # longer match ``redact`` word for word, and half of it would be shown.
        self._detail = scrub(detail)
        self._body = scrub(body)
        super().__init__(self._text())

    @property
    def detail(self) -> str:
        return self._detail[:500]

    @property
    def body(self) -> str:
        return self._body[:MAX_BODY_CHARS]

    def _text(self) -> str:
        return f"{self.kind}: {self.detail}" if self.detail else str(self.kind)

    def redact(self, *secrets: str) -> ProviderError:
        """Scrub ``secrets`` (the request's key) word for word from every text of the error."""
        self._detail = scrub(self._detail, secrets)
        self._body = scrub(self._body, secrets)
        self.args = (self._text(),)
        return self

    @property
    def plain_words(self) -> str:
        return PLAIN_WORDS[self.kind]

    @property
    def message(self) -> str:
        """What the person reading the chat is told: the plain words, and the provider's own
        short message (never its raw body)."""
        if not self.detail:
            return self.plain_words
        if self.refused:
            return f"{self.plain_words} The provider refused: {self.detail}."
        return f"{self.plain_words} ({self.detail})"


def refusal_in(payload: Any, body: str = "") -> ProviderError | None:
    """The provider's own error in a JSON object (a MiniMax ``base_resp`` with a non-zero
    status, or an ``error`` object), as its kind (design §4) and its words with its code;
    None when the object holds no error."""
    if not isinstance(payload, dict):
        return None
    base_resp = payload.get("base_resp")
    if isinstance(base_resp, dict):
        status = base_resp.get("status_code")
        if isinstance(status, int) and status != 0:
            kind = MINIMAX_STATUS_KINDS.get(status, ErrorKind.BAD_REQUEST)
            said = _words(base_resp.get("status_msg")) or "no reason given"
            return ProviderError(kind, f"{said} (MiniMax code {status})", body=body, refused=True)
    error = payload.get("error")
    if not error:
        return None
    if not isinstance(error, dict):
        return ProviderError(ErrorKind.BAD_REQUEST, _words(error), body=body, refused=True)
    code = error.get("code") or error.get("type")
    said = _words(error.get("message")) or "no reason given"
    return ProviderError(
        kind_for_code(code),
        f"{said} (code {_words(code)})" if code not in (None, "") else said,
        body=body,
        refused=True,
    )


def kind_for_code(code: Any) -> ErrorKind:
    """The kind for an error object's code: an HTTP status (as a number or digits) or a name
    such as ``insufficient_quota``."""
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    if isinstance(code, int) and not isinstance(code, bool):
        return kind_for_status(code) if 400 <= code < 600 else ErrorKind.BAD_REQUEST
    if isinstance(code, str):
        return ERROR_CODE_KINDS.get(code.lower(), ErrorKind.BAD_REQUEST)
    return ErrorKind.BAD_REQUEST


def _words(value: Any) -> str:
    """A provider's short message on one line."""
    if value is None:
        return ""
    return " ".join(str(value).split())  # ProviderError cuts it, after scrubbing


def kind_for_status(status: int, detail: str = "") -> ErrorKind:
    lowered = detail.lower()
    if status == 400 and ("context length" in lowered or "context window" in lowered):
        return ErrorKind.CONTEXT_TOO_LONG
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status in (401, 403):
        return ErrorKind.UNAUTHORIZED
    if status == 402:
        return ErrorKind.INSUFFICIENT_BALANCE
    if status == 413:
        return ErrorKind.CONTEXT_TOO_LONG
    if status >= 500:
        return ErrorKind.SERVER_ERROR
    return ErrorKind.BAD_REQUEST
