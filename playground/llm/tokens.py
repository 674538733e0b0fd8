"""Token estimates for MiniMax-M1 without its tokenizer (design §5).

M1's byte-level BPE tokenizer is not on any registry; measured ratios are about 4.4 English
characters, 1.9 Han characters and 3.4 characters of code per token. The provider's reported
usage is the truth; this is for previews, limits and aborted streams.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable

CHARS_PER_TOKEN_LATIN = 4.4
CHARS_PER_TOKEN_HAN = 1.9
CHARS_PER_TOKEN_CODE = 3.4
TOKENS_PER_MESSAGE_TEMPLATE = 5

_HAN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_CODE_MARKS = re.compile(r"[{}();=<>\[\]]")


def estimate_tokens(text: str) -> int:
    if not text:
        return 0
    han = len(_HAN.findall(text))
    rest = len(text) - han
    # Text dense in brackets and operators is code, which tokenizes finer than prose.
    code_like = rest and len(_CODE_MARKS.findall(text)) / max(rest, 1) > 0.04
    per_token = CHARS_PER_TOKEN_CODE if code_like else CHARS_PER_TOKEN_LATIN
    return math.ceil(han / CHARS_PER_TOKEN_HAN + rest / per_token)


def estimate_messages_tokens(messages: Iterable[dict]) -> int:
    total = 0
    for message in messages:
        content = message.get("content") or ""
        if isinstance(content, list):  # content parts
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        total += estimate_tokens(str(content)) + TOKENS_PER_MESSAGE_TEMPLATE
    return total


@functools.cache
def _tokenizer(path: str):
    """A Hugging Face ``tokenizer.json`` (the ``tokenizers`` package reads it)."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(path)


def count_tokens(text: str, tokenizer_file: str = "") -> tuple[int, bool]:
    """(tokens, exact): counted by the operator's tokenizer when one is configured, else
    estimated from the ratios above."""
    if tokenizer_file and text:
        return len(_tokenizer(tokenizer_file).encode(text, add_special_tokens=False).ids), True
    return estimate_tokens(text), False
