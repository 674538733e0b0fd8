"""Answers as the server renders them: markdown with maths as MathML, sanitized; an answer cut
by max output tokens says so; the chat page's labels and landmarks."""

from __future__ import annotations

import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from playground.billing.budgets import Standing
from playground.chats import actions
from playground.chats.models import Message
from playground.chats.rendering import render_markdown
from playground.streaming import runner
from tests.chats.helpers import new_chat, reply

TEX = '<annotation encoding="application/x-tex">'


def formulas(html: str) -> list[str]:
    """The LaTeX of each formula, from its annotation."""
    return re.findall(re.escape(TEX) + r"(.*?)</annotation>", html, re.S)


# --- maths ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tex", "display"),
    [
        ("Euler: $e^{i\\pi}+1=0$.", "e^{i\\pi}+1=0", False),
        ("Inline \\(a+b\\) here.", "a+b", False),
        ("$$\\frac{a}{b}$$", "\\frac{a}{b}", True),
        ("\\[\n\\sqrt{2}\n\\]", "\\sqrt{2}", True),
        # As models write it: straight after a line of text, and text after the \].
        ("So:\n\\[ x = 1 \\]\nhence", "x = 1", True),
        ("So:\n$$\nx^2\n$$\nhence", "x^2", True),
    ],
)
def test_the_four_delimiters_become_mathml_that_keeps_its_source(text, tex, display):
    html = render_markdown(text)
    assert formulas(html) == [tex]
    assert "<semantics>" in html and "<mrow>" in html
    assert ('<math display="block">' in html) == display
    assert "$" not in html.replace(TEX + tex, "") and "\\(" not in html


def test_text_around_a_bracketed_formula_is_kept():
    html = render_markdown("\\[x = 1\\] trailing words")
    assert formulas(html) == ["x = 1"]
    assert "trailing words" in html


def test_a_boxed_answer_is_framed():
    html = render_markdown("The answer is $\\boxed{42}$.")
    assert '<menclose notation="box">' in html
    assert formulas(html) == ["\\boxed{42}"]


def test_aligned_equations_are_a_table_with_the_operators_spaced():
    html = render_markdown("$$\\begin{aligned} a &= b \\pm c \\\\ &= d \\end{aligned}$$")
    assert "<mtable" in html and html.count("<mtr>") == 2
    assert "<mo>±</mo>" in html
    assert formulas(html) == ["\\begin{aligned} a &amp;= b \\pm c \\\\ &amp;= d \\end{aligned}"]


@pytest.mark.parametrize(
    "text",
    [
        "It costs $5 and $10 today.",
        "Between $5-$10.",
        "Pay $20,000 and $30,000.",
        "It costs $10, see `$x` for the price.",
        "A lone $ sign and $ spaced $ dollars.",
    ],
)
def test_dollar_amounts_stay_prose(text):
    html = render_markdown(text)
    assert "<math" not in html
    assert "$5" in html or "$10" in html or "$20,000" in html or "$ spaced $" in html


def test_a_formula_at_the_start_of_a_line_ending_in_a_digit_is_maths():
    # dollarmath alone reads the paragraph's last character as the one before the opening $.
    assert formulas(render_markdown("$x$ is 5")) == ["x"]
    assert formulas(render_markdown("- $a_1$ = 1\n- $a_2$ = 2")) == ["a_1", "a_2"]
    assert "<math" not in render_markdown("$x$5 apples")


def test_maths_inside_code_stays_code():
    html = render_markdown("Write `$x^2$` or\n\n```latex\n$$\\frac{1}{2}$$ and \\(y\\)\n```")
    assert "<math" not in html
    assert "<code>$x^2$</code>" in html
    assert "$$\\frac{1}{2}$$ and \\(y\\)" in html


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("Bad $\\frac{1}{$ here", "$\\frac{1}{$"),
        ("Unknown $\\foo{x}$ command", "$\\foo{x}$"),
        ("$x^$", "$x^$"),
        ("\\[\n\\left( x\n\\]", "\\[\\left( x\\]"),
    ],
)
def test_a_formula_that_does_not_parse_is_shown_as_its_source(text, source):
    html = render_markdown(text)
    assert "<math" not in html
    shown = re.search(r'<code class="math-source">(.*?)</code>', html, re.S)
    assert shown and shown.group(1).replace("\n", "") == source


def test_formulas_are_sanitized():
    html = render_markdown(
        "$\\text{<script>alert(1)</script>}$ $\\href{javascript:alert(1)}{x}$ "
        "$\\color{red}{y}$ $\\hspace{1cm}z$"
    )
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert "javascript:" not in html.replace(TEX, "").split("</annotation>")[-1]
    assert not re.search(r"<[^>]+ (style|href|mathcolor|xmlns)=", html)
    assert '<mspace width="1cm">' in html
    # Annotations other than the TeX one are not kept.
    assert set(re.findall(r'encoding="([^"]*)"', html)) == {"application/x-tex"}


def test_a_huge_formula_is_shown_as_source():
    html = render_markdown("$" + "x+" * 6000 + "x$")
    assert "<math" not in html and 'class="math-source"' in html


# --- an answer cut by max output tokens -------------------------------------------------------


def answer(**fields) -> Message:
    values = {"role": "assistant", "status": "complete", "model": "MiniMax-M1-80k"} | fields
    return Message(**values)


def test_an_answer_cut_by_max_tokens_knows_the_limit():
    assert (
        answer(finish_reason="length", params={"max_tokens": 1500}).stopped_at_output_limit == 1500
    )
    # No max tokens set: the model's own output limit was sent.
    assert answer(finish_reason="length", params={}).stopped_at_output_limit == 80_000
    assert answer(finish_reason="stop", params={"max_tokens": 10}).stopped_at_output_limit is None
    for status in ("stopped", "failed", "streaming"):
        assert answer(status=status, finish_reason="length").stopped_at_output_limit is None


@pytest.mark.django_db(transaction=True)
def test_the_simulator_cut_by_max_tokens_shows_the_limit_on_the_answer(owner, simulator):
    chat = new_chat(owner, simulator)
    chat.params = {"max_tokens": 40}
    chat.save()
    _, cut = actions.start_reply(chat, owner, "#think:30 #answer:200 say a lot")
    runner.wait_idle()
    cut.refresh_from_db()
    assert (cut.status, cut.finish_reason) == ("complete", "length")
    html = render_to_string("chats/_message.html", {"message": cut})
    assert (
        "Stopped at the limit of 40 output tokens — raise Max output tokens in the settings."
        in html
    )

    _, whole = actions.start_reply(chat, owner, "#think:3 #answer:5 briefly")
    runner.wait_idle()
    whole.refresh_from_db()
    assert whole.finish_reason == "stop"
    assert "Stopped at the limit" not in render_to_string("chats/_message.html", {"message": whole})


# --- the message partial and the chat page ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_answer_carries_its_markdown_source_and_its_actions(owner, simulator):
    _, _, reply_ = reply(owner, simulator, "#think:3 #answer:5 hi")
    runner.wait_idle()
    reply_.refresh_from_db()
    reply_.content = 'Say $x<y$ & "quote" </template><script>alert(1)</script>'
    html = render_to_string("chats/_message.html", {"message": reply_})
    source = re.search(r"<template data-answer-source>(.*?)</template>", html, re.S).group(1)
    assert source == (
        "Say $x&lt;y$ &amp; &quot;quote&quot; &lt;/template&gt;&lt;script&gt;alert(1)"
        "&lt;/script&gt;"
    )
    actions_bar = re.search(r'<span class="msg-actions".*?</span>\s*</footer>', html, re.S).group(0)
    assert 'aria-label="Copy answer"' in actions_bar
    assert f'hx-post="{reverse("chats:retry", args=[reply_.pk])}"' in actions_bar
    assert html.count('aria-label="Retry"') == 1


@pytest.mark.django_db
def test_the_chat_page_names_each_model_with_its_provider_and_skips_to_the_chat(
    owner, owner_client, simulator
):
    simulator.pk = None  # a second provider offering the same models
    simulator.name, simulator.is_default = "Second", False
    simulator.save()
    chat = new_chat(owner, simulator)
    page = owner_client.get(reverse("chats:chat", args=[chat.pk])).content.decode()
    assert '<a class="skip-link" href="#chat">' in page and '<main class="chat" id="chat"' in page
    labels = re.findall(r"<option [^>]*>([^<]*)</option>", page.split('id="model-picker"')[1])
    assert "MiniMax-M1-80k · Simulator" in labels and "MiniMax-M1-80k · Second" in labels
    assert len(labels) == len(set(labels))


@pytest.mark.django_db(transaction=True)
def test_the_details_page_has_the_skip_links_target(owner, owner_client, simulator):
    _, _, reply_ = reply(owner, simulator, "#think:3 #answer:5 hi")
    runner.wait_idle()
    page = owner_client.get(reverse("chats:details", args=[reply_.pk])).content.decode()
    assert '<a class="skip-link" href="#main">' in page and 'id="main"' in page


def test_a_budget_far_past_its_cap_shows_a_readable_percentage():
    standing = Standing("Your monthly budget", 1_000_000, 12_500_000, 0)
    html = render_to_string("chats/chat.html#budget_warnings", {"budget_warnings": [standing]})
    assert "1,250% used this month" in html
