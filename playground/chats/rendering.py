"""Markdown from the model, rendered on the server and sanitized with an allow-list.

Model output is untrusted: raw HTML in it is escaped by the renderer, and nh3 removes anything
outside the allow-list (scripts, event handlers, javascript: links) from what remains.
"""

from __future__ import annotations

import html
import re
from xml.etree import ElementTree

import nh3
from django.template.loader import render_to_string
from latex2mathml.converter import convert_to_element
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.dollarmath.index import math_inline_dollar
from mdit_py_plugins.texmath.index import make_block_func, make_inline_func

# --- maths: $…$, $$…$$, \(…\) and \[…\] as MathML, which browsers typeset natively -------------
# static/js/chat.js finds the same delimiters with the same rules while an answer streams.

_MATH_CLOSING = {"$": "$", "$$": "$$", "\\(": "\\)", "\\[": "\\]"}
_MAX_FORMULA_CHARS = 10_000
# \begin{aligned} is the environment models write most; latex2mathml knows it as align*.
_ALIGNED = re.compile(r"\\(begin|end)\{aligned\}")
# Operators latex2mathml writes as identifiers (<mi>), which would set them without the space
# around an operator (temml, in the browser, writes them as <mo>).
_OPERATORS_AS_IDENTIFIERS = frozenset("±∓~¬…⟂\u29f5⟹⟺")  # U+29F5: \setminus


def _mathml(tex: str, display: bool) -> str:
    """MathML for a formula, its source kept in an annotation (what copying takes); ValueError
    when it does not parse, or uses a command latex2mathml does not know (temml, in the
    browser, refuses those too, so the streamed and the final answer agree)."""
    if len(tex) > _MAX_FORMULA_CHARS:
        raise ValueError("formula too long")
    try:
        source = _ALIGNED.sub(r"\\\1{align*}", tex)
        math = convert_to_element(source, display="block" if display else "inline")
    except Exception as error:  # malformed input raises many kinds, IndexError included
        raise ValueError(str(error)) from error
    for element in math.iter():
        # latex2mathml writes characters as entity references inside the text; decode them
        # here so that serializing escapes the text once, whatever the formula holds.
        element.text = html.unescape(element.text) if element.text else element.text
        element.tail = html.unescape(element.tail) if element.tail else element.tail
        if element.tag == "mi" and element.text and element.text[0] in "\\&":
            raise ValueError(f"unknown command {element.text}")
        if "href" in element.attrib:  # \href: temml refuses it untrusted, and so does this
            raise ValueError("links in formulas are not shown")
        if element.tag == "mi" and element.text in _OPERATORS_AS_IDENTIFIERS:
            element.tag = "mo"
    row = math[0]
    math.remove(row)
    math.attrib = {"display": "block"} if display else {}
    semantics = ElementTree.SubElement(math, "semantics")
    semantics.append(row)
    annotation = ElementTree.SubElement(semantics, "annotation", encoding="application/x-tex")
    annotation.text = tex
    return ElementTree.tostring(math, encoding="unicode", short_empty_elements=False)


def _render_maths(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    tex = token.content.strip()
    try:
        html_ = _mathml(tex, display=token.type != "math_inline")
    except ValueError:
        source = escapeHtml(token.markup + tex + _MATH_CLOSING[token.markup])
        html_ = f'<code class="math-source">{source}</code>'
        if token.block:
            html_ = f"<p>{html_}</p>"
    return html_ + "\n" if token.block else html_


_dollar_rule_options = {"allow_space": False, "allow_digits": False, "allow_double": True}
_inline_dollar = math_inline_dollar(**_dollar_rule_options)
_inline_dollar_after_anything = math_inline_dollar(**_dollar_rule_options | {"allow_digits": True})


def _inline_dollar_checked(state, silent: bool) -> bool:
    """dollarmath's rule, with two changes. No backquote inside: in "costs $10, see `$x`" the
    code span wins over a formula from $10 to its $. And at the start of a paragraph dollarmath
    reads the character before the opening $ as src[-1] (the paragraph's last one: "$x$ is 5"
    would not be maths), so there only the digit after the closing $ is checked."""
    start = state.pos
    rule = _inline_dollar if start > 0 else _inline_dollar_after_anything
    if not rule(state, True):
        return False
    end, state.pos = state.pos, start
    if "`" in state.src[start:end] or (start == 0 and state.src[end : end + 1].isdigit()):
        return False
    return rule(state, silent)


_md = (
    MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False})
    .enable(["table", "strikethrough", "linkify"])
    # "costs $5 and $10" stays prose: no space inside the dollars, no digit after the closing one.
    .use(
        dollarmath_plugin,
        allow_labels=False,
        allow_space=False,
        allow_digits=False,
        allow_blank_lines=False,
        double_inline=True,
    )
)
_md.inline.ruler.at("math_inline", _inline_dollar_checked)
# texmath's "brackets" rules drop any text after \] on its line and know \[…\] only as a block,
# so its rule builders get these patterns instead: \[…\] is a block when it has lines of its
# own, else display maths inside the paragraph (as models write it, right after a line of text).
# Both come before "escape", which would read \( and \[ as escaped punctuation.
_md.inline.ruler.before(
    "escape",
    "math_paren",
    make_inline_func(
        {"name": "math_inline", "rex": re.compile(r"^\\\((.+?)\\\)", re.S), "tag": "\\("}
    ),
)
_md.inline.ruler.before(
    "escape",
    "math_bracket",
    make_inline_func(
        {"name": "math_inline_double", "rex": re.compile(r"^\\\[(.+?)\\\]", re.S), "tag": "\\["}
    ),
)
_md.block.ruler.before(
    "fence",
    "math_bracket_block",
    make_block_func(
        {
            "name": "math_block",
            "rex": re.compile(r"^\\\[(.+?)\\\][ \t]*$", re.S | re.M),
            "tag": "\\[",
        }
    ),
)
for _math_token in ("math_inline", "math_inline_double", "math_block"):
    _md.add_render_rule(_math_token, _render_maths)

_TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "img",
    "span",
    "sup",
    "sub",
}
_MATH_TAGS = {
    "math",
    "semantics",
    "annotation",
    "mrow",
    "mi",
    "mn",
    "mo",
    "msup",
    "msub",
    "msubsup",
    "mfrac",
    "msqrt",
    "mroot",
    "mtext",
    "mspace",
    "mtable",
    "mtr",
    "mtd",
    "menclose",
    "mover",
    "munder",
    "munderover",
    "mstyle",
    "mpadded",
    "mphantom",
}
_TAGS |= _MATH_TAGS
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "ol": {"start"},
    # What latex2mathml writes; no style, no href, no colours.
    "math": {"display"},
    "annotation": {"encoding"},
    "mi": {"mathvariant"},
    "mo": {
        "stretchy",
        "fence",
        "separator",
        "form",
        "minsize",
        "maxsize",
        "lspace",
        "rspace",
        "largeop",
        "movablelimits",
        "symmetric",
        "accent",
    },
    "mover": {"accent"},
    "munder": {"accentunder"},
    "munderover": {"accent", "accentunder"},
    "mfrac": {"linethickness"},
    "mspace": {"width", "height", "depth"},
    "mtable": {"columnalign", "rowalign", "columnspacing", "rowspacing", "displaystyle"},
    "mtr": {"columnalign", "rowalign"},
    "mtd": {"columnalign", "rowalign", "columnspan", "rowspan"},
    "menclose": {"notation"},
    "mstyle": {"displaystyle", "scriptlevel", "mathvariant"},
    "mpadded": {"width", "height", "depth", "lspace", "voffset"},
}


def _allowed_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        # Only the language marker highlight.js reads, and the mark of a formula shown as source.
        if value == "math-source":
            return value
        return value if value.startswith("language-") and value[9:].isidentifier() else None
    if attribute == "encoding":
        return value if value == "application/x-tex" else None
    return value


def render_markdown(text: str) -> str:
    if not text:
        return ""
    html = _md.render(text)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=_allowed_attribute,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def render_message_html(message) -> str:
    """One message as the chat shows it (``chats/_message.html``, which pages include too): for
    the frames that add messages and for an answer's final frame. Every caller has the
    message's chat loaded (a column's answer has no Retry)."""
    in_comparison = message.chat.comparison_id is not None
    return render_to_string(
        "chats/_message.html", {"message": message, "in_comparison": in_comparison}
    )
