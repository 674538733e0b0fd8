"""The one place that decides what a request holds: the documents, the system prompt, the
history along the branch, the settings and a budget-forced continuation's prefill. Generation,
the context meter, View code and Compare all build their requests here.

The context report measures a chat's next request before it is sent (issue 4): its parts
against the model's context window, and what it will cost.

Documents go first, whole, in the order they were attached, each delimited with its name, in
the system message ahead of the system prompt: the prefix stays the same from turn to turn, so
a provider's prompt caching can work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from django.db.models import Sum

from playground.billing.models import UsageRecord, price_for
from playground.documents.models import Attachment, Document, DocumentText
from playground.llm.client import ProviderKind
from playground.llm.errors import ErrorKind
from playground.llm.params import (
    MODEL_OUTPUT_LIMITS,
    Params,
    context_window,
    output_limit,
    request_fields,
)
from playground.llm.pricing import Cost, PriceTable, cost, dollars, from_micros
from playground.llm.tokens import TOKENS_PER_MESSAGE_TEMPLATE, estimate_tokens
from playground.providers.models import kind_of

from .models import Chat, Message

LARGEST_NAMED = 3


def _attribute(name: str) -> str:
    """A file name as a delimiter attribute: no quotes, brackets or line breaks from it."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in name)
    return cleaned.replace('"', "'").replace("<", "(").replace(">", ")")[:255]


# A document's own text must not be able to end its block (and pass off what follows as the
# user's or the system's words) or to open a block that looks like another document. Tags in
# the text are escaped rather than the delimiters made random: the same text always gives the
# same bytes (View code rebuilds a request exactly, and a provider's prompt cache keeps
# working), a reader sees plainly what the text said, and nothing is left that a document
# could guess. Any case and spacing, since a model reads `</ Document >` as the same tag.
_DOCUMENT_TAG = re.compile(r"<(\s*/?\s*document\b)", re.IGNORECASE)


def _document_text(text: str) -> str:
    return _DOCUMENT_TAG.sub(r"<\\\1", text)


def documents_block(documents: list[tuple[str, str]]) -> str:
    parts = [
        f'<document name="{_attribute(name)}">\n{_document_text(text)}\n</document>'
        for name, text in documents
    ]
    return "The user attached these documents:\n\n" + "\n\n".join(parts)


def opening_messages(params: Params, documents: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The system message: the documents, then the system prompt."""
    pieces = []
    if documents:
        pieces.append(documents_block(documents))
    if params.system_prompt.strip():
        pieces.append(params.system_prompt.strip())
    return [{"role": "system", "content": "\n\n".join(pieces)}] if pieces else []


def document_texts(document_ids: list[int]) -> list[tuple[str, str]]:
    """(name, text) of documents in the given order; one deleted since is left out."""
    texts = dict(
        DocumentText.objects.filter(document_id__in=document_ids).values_list("document_id", "text")
    )
    names = dict(Document.objects.filter(pk__in=document_ids).values_list("pk", "name"))
    return [(names[i], texts[i]) for i in document_ids if i in texts and i in names]


def document_names(document_ids: list[int]) -> list[tuple[int, str]]:
    """(id, name) of documents in the given order; one deleted since is left out."""
    names = dict(Document.objects.filter(pk__in=document_ids).values_list("pk", "name"))
    return [(i, names[i]) for i in document_ids if i in names]


def attached(chat: Chat) -> list[Document]:
    """The chat's documents in the order they were attached."""
    return [a.document for a in Attachment.objects.filter(chat=chat).select_related("document")]


def branch_to(message_id: int | None) -> list[Message]:
    """The messages from the root to ``message_id``, root first."""
    return Message.objects.branch(message_id).select_related("usage_record", "provider").path()


def conversation(path: Iterable[Message]) -> list[dict[str, str]]:
    # Earlier thinking is not sent back: M1 reasons afresh each turn and it would cost input.
    return [
        {"role": m.role, "content": m.content}
        for m in path
        if m.content or m.role == Message.Role.USER
    ]


NEXT_MESSAGE_PLACEHOLDER = "(your next message)"


def draft_request(
    chat: Chat, params: Params, kind: ProviderKind, branch: list[Message] | None = None
) -> dict:
    """The request the next message would make with the settings as they stand; the message
    itself is a placeholder."""
    if branch is None:
        branch = chat.branch()
    next_message = {"role": "user", "content": NEXT_MESSAGE_PLACEHOLDER}
    ready = [d.pk for d in attached(chat) if d.is_ready]
    opening = opening_messages(params, document_texts(ready))
    request = {
        "model": chat.model,
        "messages": [*opening, *conversation(branch), next_message],
        "stream_options": {"include_usage": True},
    }
    return request | request_fields(params, kind, chat.model)


def continuation_request(
    request: dict, thinking: str, thinking_tokens: int, kind: ProviderKind
) -> dict:
    """The request that continues a budget-stopped answer: the thinking so far, closed, as an
    assistant prefill; the output left after it; no thinking budget (it is spent)."""
    prefill = {"role": "assistant", "content": f"<think>\n{thinking.strip()}\n</think>\n\n"}
    continuation = {**request, "messages": [*request["messages"], prefill]}
    continuation["max_tokens"] = max(1, request.get("max_tokens", 0) - thinking_tokens)
    extra = {
        k: v
        for k, v in (request.get("extra_body") or {}).items()
        if k not in ("reasoning", "thinking_token_budget")
    }
    if kind in (ProviderKind.VLLM, ProviderKind.SIMULATOR):
        extra |= {"continue_final_message": True, "add_generation_prompt": False}
    if extra:
        continuation["extra_body"] = extra
    else:
        continuation.pop("extra_body", None)
    return continuation


def requests_for(message: Message) -> list[dict]:
    """Every request an answer was generated with, rebuilt exactly from what it recorded (its
    settings, its branch, its thinking): the first, and a budget-forced one's continuation."""
    first = build_request(message)
    requests = [first]
    if message.thinking_budget_hit and message.error_kind != ErrorKind.THINKING_BUDGET:
        kind = kind_of(message.provider)
        requests.append(
            continuation_request(first, message.reasoning, message.thinking_budget_hit, kind)
        )
    return requests


def build_request(message: Message) -> dict:
    """The request exactly as sent, from the settings recorded on the answer."""
    params = Params.from_dict(message.params)
    opening = opening_messages(params, document_texts(message.documents))
    request = {
        "model": message.model,
        "messages": opening + conversation(Message.objects.branch(message.parent_id).path()),
        "stream_options": {"include_usage": True},
    }
    if not message.params:
        # Answered before chats had settings: it was sent without sampling fields.
        if message.model in MODEL_OUTPUT_LIMITS:
            request["max_tokens"] = MODEL_OUTPUT_LIMITS[message.model]
        return request
    kind = kind_of(message.provider)
    return request | request_fields(params, kind, message.model)


@dataclass(frozen=True, slots=True)
class Part:
    label: str
    tokens: int
    kind: str  # system, document, history, message
    document_id: int | None = None


@dataclass
class ContextReport:
    model: str
    parts: list[Part]
    input_tokens: int
    output_reserve: int
    window: int
    prices: PriceTable | None
    provider_count: int | None = None  # the provider's prompt tokens of the last request
    pending: list[Document] = field(default_factory=list)
    failed: list[Document] = field(default_factory=list)
    exact_documents: list[bool] = field(default_factory=list)
    chat: Chat | None = None

    @cached_property
    def spent_micros(self) -> int:
        """What the chat's answers have cost so far (read only when the meter shows it, not
        on every send)."""
        return _spent(self.chat) if self.chat is not None else 0

    @property
    def spent_text(self) -> str:
        return dollars(from_micros(self.spent_micros))

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_reserve

    @property
    def over_by(self) -> int:
        return max(0, self.total - self.window)

    @property
    def boundary(self) -> int | None:
        """The first input length where the price changes (200,000 for M1)."""
        bounds = self.prices.boundaries() if self.prices else []
        return bounds[0] if bounds else None

    @property
    def cost(self) -> Cost | None:
        """The next request's input at its tier, plus its output at worst (max tokens)."""
        return cost(self.prices, self.input_tokens, self.output_reserve) if self.prices else None

    @property
    def crosses_boundary(self) -> bool:
        return self.boundary is not None and self.input_tokens > self.boundary

    def tier_note(self) -> str:
        """What the tier does to the price, in words, when it matters."""
        if self.prices is None or self.boundary is None:
            return ""
        low, high = self.prices.tiers[0], self.prices.tier_for(self.boundary + 1)
        if self.crosses_boundary:
            cheaper = cost(self.prices, self.boundary, self.output_reserve)
            return (
                f"Over {self.boundary:,} input tokens the whole request is priced at "
                f"{dollars(high.input_per_million)} per million input tokens instead of "
                f"{dollars(low.input_per_million)}: {dollars(self.cost.total)} instead of about "
                f"{dollars(cheaper.total)} at {self.boundary:,}."
            )
        return (
            f"Up to {self.boundary:,} input tokens: {dollars(low.input_per_million)} per million "
            f"in. Above, the whole request costs {dollars(high.input_per_million)} per million in."
        )

    # --- for the meter's bar: an SVG 1,000 units wide (CSP allows no inline styles) --------
    BAR_WIDTH = 1000

    @property
    def _scale(self) -> float:
        return self.BAR_WIDTH / max(self.window, self.total, 1)

    @property
    def bar(self) -> list[dict]:
        segments, x = [], 0.0
        output = Part("Kept for the answer", self.output_reserve, "output")
        for part in [*self.parts, output]:
            if part.tokens <= 0:
                continue
            width = max(part.tokens * self._scale, 2.0)  # a small part stays visible
            segments.append({**_part_dict(part), "x": round(x, 2), "width": round(width, 2)})
            x += width
        return segments

    @property
    def boundary_x(self) -> float | None:
        return round(self.boundary * self._scale, 2) if self.boundary else None

    @property
    def exact(self) -> bool:
        return bool(self.documents) and all(self.exact_documents)

    @property
    def cost_text(self) -> str:
        return dollars(self.cost.total) if self.cost else ""

    @property
    def input_cost_text(self) -> str:
        return dollars(self.cost.input) if self.cost else ""

    @property
    def output_cost_text(self) -> str:
        return dollars(self.cost.output) if self.cost else ""

    @property
    def documents(self) -> list[Part]:
        return [p for p in self.parts if p.kind == "document"]

    @property
    def document_tokens(self) -> int:
        return sum(p.tokens for p in self.documents)

    def largest_documents(self) -> list[Part]:
        return sorted(self.documents, key=lambda p: p.tokens, reverse=True)[:LARGEST_NAMED]

    def refusal(self) -> str:
        """Why the request cannot be sent, or "" when it fits."""
        if self.pending:
            names = ", ".join(f"“{d.name}”" for d in self.pending)
            return f"Still reading {names}. Send when it is ready, or detach it."
        if self.failed:
            names = ", ".join(f"“{d.name}”" for d in self.failed)
            return (
                f"{names} could not be read, and blocks sending: retry reading it, or detach "
                "it (its chip above the message box has both)."
            )
        if not self.over_by:
            return ""
        message = (
            f"This request needs about {self.total:,} tokens ({self.input_tokens:,} of input "
            f"and {self.output_reserve:,} kept for the answer), {self.over_by:,} more than "
            f"{self.model}'s {self.window:,}-token context."
        )
        largest = self.largest_documents()
        if largest:
            listed = ", ".join(f"“{p.label}” ({p.tokens:,})" for p in largest)
            message += f" The largest documents: {listed}. Detach one"
            message += ", or lower max output tokens." if self.output_reserve else "."
        else:
            message += " Start a new chat, or lower max output tokens."
        return message


def _spent(chat: Chat) -> int:
    total = UsageRecord.objects.filter(message__chat=chat).aggregate(total=Sum("cost_micros"))[
        "total"
    ]
    return total or 0


def _part_dict(part: Part) -> dict:
    return {"label": part.label, "tokens": part.tokens, "kind": part.kind}


def _message_tokens(text: str) -> int:
    return estimate_tokens(text) + TOKENS_PER_MESSAGE_TEMPLATE


def report(
    chat: Chat,
    draft: str = "",
    params: Params | None = None,
    branch: list[Message] | None = None,
    documents: list[Document] | None = None,
) -> ContextReport:
    """The next request of ``chat`` with ``draft`` as its message (``branch`` and
    ``documents``: the chat's branch and attached documents, when the caller has them)."""
    params = params or Params.from_dict(chat.params)
    if documents is None:
        documents = attached(chat)
    ready = [d for d in documents if d.is_ready]
    parts: list[Part] = []
    if params.system_prompt.strip():
        parts.append(Part("System prompt", _message_tokens(params.system_prompt), "system"))
    parts += [Part(d.name, d.tokens, "document", d.pk) for d in ready]
    if branch is None:
        branch = chat.branch()
    history = sum(_message_tokens(m.content) for m in branch if m.content or m.role == "user")
    if history:
        parts.append(Part(f"History ({len(branch)} messages)", history, "history"))
    if draft.strip():
        parts.append(Part("Your message", _message_tokens(draft), "message"))
    estimated = sum(p.tokens for p in parts)
    input_tokens, provider_count = estimated, None
    last = _last_reported_answer(branch, params)
    if last is not None and last.documents == [d.pk for d in ready]:
        # The provider counted everything up to the last question; add what came since.
        since = branch[branch.index(last) :]
        provider_count = last.prompt_tokens
        input_tokens = provider_count + sum(_message_tokens(m.content) for m in since)
        if draft.strip():
            input_tokens += _message_tokens(draft)
    limit = output_limit(chat.model)
    return ContextReport(
        model=chat.model,
        parts=parts,
        input_tokens=input_tokens,
        output_reserve=params.max_tokens or limit,
        window=context_window(chat.model),
        prices=price_for(chat.provider, chat.model)[0],
        chat=chat,
        provider_count=provider_count,
        pending=[d for d in documents if d.is_pending],
        exact_documents=[d.tokens_exact for d in ready],
        failed=[d for d in documents if d.status == Document.Status.FAILED],
    )


def _last_reported_answer(branch: list[Message], params: Params) -> Message | None:
    """The newest answer on the branch if the provider reported its prompt tokens (not
    estimated) and it was asked with the system prompt in use now."""
    for message in reversed(branch):
        if message.role != Message.Role.ASSISTANT or not message.prompt_tokens:
            continue
        same_prompt = Params.from_dict(message.params).system_prompt == params.system_prompt
        return message if same_prompt and not message.usage_estimated else None
    return None
