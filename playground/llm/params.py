"""Sampling and thinking settings: their defaults, their limits per provider, and the request
fields they become (design §4). No Django here: chats store ``Params.as_dict()``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from .client import ProviderKind

# MiniMax's recommendation for M1 (design §4).
DEFAULT_TEMPERATURE = 1.0
DEFAULT_TOP_P = 0.95

# The recommended system prompts of MiniMax-M1's model card, one click away in the settings.
RECOMMENDED_SYSTEM_PROMPTS: dict[str, str] = {
    "General": "You are a helpful assistant.",
    "Maths": "Please reason step by step, and put your final answer within \\boxed{}.",
    "Web development": (
        "You are a web development engineer, writing web pages according to the instructions "
        "below. You are a powerful code editing assistant capable of writing code and creating "
        "artifacts in conversations with users, or modifying and updating existing artifacts as "
        "requested by users.\n"
        "All code is written in a single code block to form a complete code file for display, "
        "without separating HTML and JavaScript code. An artifact refers to a runnable complete "
        "code snippet, you prefer to integrate and output such complete runnable code rather "
        "than breaking it down into several code blocks. For certain types of code, they can "
        "render graphical interfaces in a UI window. After generation, please check the code "
        "execution again to ensure there are no errors in the output.\n"
        "Output only the HTML, without any additional descriptive text. Make the UI looks modern "
        "and beautiful."
    ),
}

# Output (thinking + answer) a model can produce; M1 comes in 40k and 80k thinking variants.
MODEL_OUTPUT_LIMITS = {"MiniMax-M1-40k": 40_000, "MiniMax-M1-80k": 80_000}
DEFAULT_OUTPUT_LIMIT = 40_000  # a model id the app does not know
MIN_THINKING_BUDGET = 1_000
MAX_STOP_SEQUENCES = 4
MAX_STOP_LENGTH = 200
MAX_SYSTEM_PROMPT_CHARS = 100_000
MAX_SEED = 2**63 - 1


# Input and output together; both M1 variants take 1M tokens (design §1).
MODEL_CONTEXT_WINDOWS = {"MiniMax-M1-40k": 1_000_000, "MiniMax-M1-80k": 1_000_000}
DEFAULT_CONTEXT_WINDOW = 1_000_000


def context_window(model: str) -> int:
    return MODEL_CONTEXT_WINDOWS.get(model, DEFAULT_CONTEXT_WINDOW)


def output_limit(model: str) -> int:
    return MODEL_OUTPUT_LIMITS.get(model, DEFAULT_OUTPUT_LIMIT)


@dataclass(frozen=True, slots=True)
class Params:
    system_prompt: str = ""
    temperature: float = DEFAULT_TEMPERATURE
    top_p: float = DEFAULT_TOP_P
    max_tokens: int | None = None  # None: the model's output limit
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    thinking_budget: int | None = None  # None: the model's own default

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stop"] = list(self.stop)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Params:
        """Stored settings back; unknown keys (from an older or newer version) are ignored."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in (data or {}).items() if k in known}
        if "stop" in values:
            values["stop"] = tuple(values["stop"] or ())
        return cls(**values)


class ParamsError(ValueError):
    """Field name -> a message the user can act on."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def temperature_range(kind: ProviderKind) -> tuple[float, float, bool]:
    """(low, high, low is excluded). MiniMax's API takes (0, 1]; the others [0, 2]."""
    if kind == ProviderKind.MINIMAX:
        return 0.0, 1.0, True
    return 0.0, 2.0, False


def validate(params: Params, kind: ProviderKind, model: str) -> Params:
    """The same params if every value is within what this provider and model accept."""
    errors: dict[str, str] = {}
    low, high, open_low = temperature_range(kind)
    t = params.temperature
    if not _finite(t) or t > high or t < low or (open_low and t == low):
        bracket = "(" if open_low else "["
        errors["temperature"] = f"Temperature must be in {bracket}{low:g}, {high:g}] here."
    if not _finite(params.top_p) or not 0 < params.top_p <= 1:
        errors["top_p"] = "top_p must be above 0 and at most 1."
    for name in ("presence_penalty", "frequency_penalty"):
        value = getattr(params, name)
        if not _finite(value) or not -2 <= value <= 2:
            errors[name] = "Penalties must be between -2 and 2."
    limit = output_limit(model)
    if params.max_tokens is not None and not 1 <= params.max_tokens <= limit:
        errors["max_tokens"] = f"Max output tokens must be between 1 and {limit:,} for {model}."
    if params.seed is not None and not 0 <= params.seed <= MAX_SEED:
        errors["seed"] = "The seed must be a whole number from 0 to 2^63 - 1."
    if len(params.stop) > MAX_STOP_SEQUENCES:
        errors["stop"] = f"At most {MAX_STOP_SEQUENCES} stop sequences."
    elif any(not s or len(s) > MAX_STOP_LENGTH for s in params.stop):
        errors["stop"] = f"Each stop sequence must be 1 to {MAX_STOP_LENGTH} characters."
    budget = params.thinking_budget
    if budget is not None:
        ceiling = params.max_tokens or limit
        if not MIN_THINKING_BUDGET <= budget <= limit:
            errors["thinking_budget"] = (
                f"The thinking budget must be between {MIN_THINKING_BUDGET:,} and {limit:,} "
                f"tokens for {model}, or the model's default."
            )
        elif budget > ceiling:
            errors["thinking_budget"] = (
                f"The thinking budget ({budget:,}) is above max output tokens ({ceiling:,})."
            )
    if len(params.system_prompt) > MAX_SYSTEM_PROMPT_CHARS:
        errors["system_prompt"] = (
            f"The system prompt is limited to {MAX_SYSTEM_PROMPT_CHARS:,} characters; attach "
            "long text as a document."
        )
    if errors:
        raise ParamsError(errors)
    return params


def no_room_for_answer(params: Params, model: str) -> bool:
    """Whether max output tokens leave no room to answer after a full thinking budget."""
    if params.thinking_budget is None:
        return False
    return (params.max_tokens or output_limit(model)) - params.thinking_budget < 256


def request_fields(params: Params, kind: ProviderKind, model: str) -> dict[str, Any]:
    """The chat completion fields these settings become for this provider.

    ``extra_body`` holds what the openai SDK does not know: OpenRouter's ``reasoning`` and
    vLLM's ``thinking_token_budget`` (design §4). The app enforces the budget itself as well.
    """
    request: dict[str, Any] = {
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_tokens or output_limit(model),
    }
    if params.presence_penalty:
        request["presence_penalty"] = params.presence_penalty
    if params.frequency_penalty:
        request["frequency_penalty"] = params.frequency_penalty
    if params.seed is not None:
        request["seed"] = params.seed
    if params.stop:
        request["stop"] = list(params.stop)
    if params.thinking_budget is not None:
        if kind == ProviderKind.OPENROUTER:
            request["extra_body"] = {"reasoning": {"max_tokens": params.thinking_budget}}
        elif kind == ProviderKind.VLLM:
            request["extra_body"] = {"thinking_token_budget": params.thinking_budget}
    return request


def _finite(value: float) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
