"""Provider failures as one exception type with a kind the UI can explain in plain words."""

from __future__ import annotations

from enum import StrEnum


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


class ProviderError(Exception):
    def __init__(self, kind: ErrorKind, detail: str = "", status: int | None = None) -> None:
        self.kind = kind
        self.detail = detail[:500]
        self.status = status
        super().__init__(f"{kind}: {self.detail}" if detail else str(kind))

    @property
    def plain_words(self) -> str:
        return PLAIN_WORDS[self.kind]


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
