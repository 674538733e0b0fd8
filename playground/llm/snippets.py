"""The exact request an answer was generated with, as Python (openai SDK), curl and JavaScript.

What these show is what the app sent, with two differences only: the API key is an
environment variable, and message texts longer than ``ABBREVIATE_OVER`` characters (whole
documents) are abbreviated to their start and end.
"""

from __future__ import annotations

import json
import pprint
import shlex
from typing import Any

from .client import ProviderKind

ABBREVIATE_OVER = 2_000
KEEP_EACH_END = 400

API_KEY_VARIABLES = {
    ProviderKind.MINIMAX: "MINIMAX_API_KEY",
    ProviderKind.OPENROUTER: "OPENROUTER_API_KEY",
    ProviderKind.VLLM: "VLLM_API_KEY",
    ProviderKind.OPENAI_COMPATIBLE: "OPENAI_API_KEY",
    ProviderKind.SIMULATOR: "SIMULATOR_API_KEY",
}


def abbreviate(text: str) -> str:
    if len(text) <= ABBREVIATE_OVER:
        return text
    omitted = len(text) - 2 * KEEP_EACH_END
    return f"{text[:KEEP_EACH_END]}[… {omitted:,} characters omitted …]{text[-KEEP_EACH_END:]}"


def abbreviated(request: dict[str, Any]) -> dict[str, Any]:
    """The request with long message texts cut in the middle (a copy)."""
    messages = [
        {**m, "content": abbreviate(m["content"])} if isinstance(m.get("content"), str) else m
        for m in request.get("messages", [])
    ]
    return {**request, "messages": messages}


def http_body(request: dict[str, Any]) -> dict[str, Any]:
    """The JSON body on the wire: the SDK sends ``extra_body`` fields at the top level."""
    body = {k: v for k, v in request.items() if k != "extra_body"}
    body.update(request.get("extra_body") or {})
    body["stream"] = True
    return body


def python_code(request: dict[str, Any], base_url: str, kind: ProviderKind) -> str:
    kwargs = {**request, "stream": True}
    literal = pprint.pformat(kwargs, indent=4, width=96, sort_dicts=False)
    return (
        "import os\n\n"
        "from openai import OpenAI\n\n"
        f"client = OpenAI(base_url={base_url!r}, api_key=os.environ[{API_KEY_VARIABLES[kind]!r}])\n"
        f"stream = client.chat.completions.create(**{literal})\n"
        "for chunk in stream:\n"
        "    print(chunk)\n"
    )


def curl_code(request: dict[str, Any], base_url: str, kind: ProviderKind) -> str:
    body = json.dumps(http_body(request), indent=2, ensure_ascii=False)
    url = shlex.quote(base_url.rstrip("/") + "/chat/completions")
    return (
        f"curl -N {url} \\\n"
        f'  -H "Authorization: Bearer ${API_KEY_VARIABLES[kind]}" \\\n'
        '  -H "Content-Type: application/json" \\\n'
        "  --data-binary @- <<'JSON'\n"
        f"{body}\n"
        "JSON\n"
    )


def javascript_code(request: dict[str, Any], base_url: str, kind: ProviderKind) -> str:
    body = json.dumps(http_body(request), indent=2, ensure_ascii=False)
    return (
        'import OpenAI from "openai";\n\n'
        f"const client = new OpenAI({{ baseURL: {json.dumps(base_url)}, "
        f"apiKey: process.env.{API_KEY_VARIABLES[kind]} }});\n"
        f"const stream = await client.chat.completions.create({body});\n"
        "for await (const chunk of stream) console.log(chunk);\n"
    )
