"""Markdown → the HTML annotators see: sanitised, and never loading anything remote.

CommonMark with GitHub's tables and strikethrough, single line breaks kept: the
Markdown that chat models write, parsed by markdown-it-py in time linear in the
text. python-markdown, used before, is quadratic on unclosed brackets and links and
deep quotes: 20 KB of "[" took minutes, so one output could hold a web worker past
its timeout.

The HTML is rendered once, when an output, a prompt or a project's instructions are
saved, and stored beside the text (`Candidate.html`, `Prompt.html`,
`Project.instructions_html`), so a task page only copies it. Raw HTML in the text
is shown as text, not interpreted, and nh3 sanitises what the parser made. An image
becomes a link to it, "image: <alt>": a page that loaded it would tell whoever
wrote the output who reads it, and when.
Headings start at h4: the page's own h1–h3 (task, "Output C") frame an output, so an
output's `# Title` must not outrank them, nor show as a page-sized title.

markdown-it bounds its recursion (`maxNesting`, 20 levels) and drops whatever a quote
or list item holds beyond it; such a text is shown as written, preformatted, so an
annotator never judges an output with part of it hidden. Raising the bound is no
cure: it multiplies the time a run of unclosed "[" takes (6x at 100).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

_TAGS = nh3.ALLOWED_TAGS - {"img"}
_ATTRIBUTES = {
    tag: names for tag, names in nh3.ALLOWED_ATTRIBUTES.items() if tag in _TAGS
}


class _ImagesAsLinks(RendererHTML):
    def image(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        token = tokens[idx]
        src = escapeHtml(str(token.attrGet("src") or ""))
        alt = escapeHtml(self.renderInlineAsText(token.children, options, env))
        return f'<a href="{src}">image: {alt or src}</a>'


# `breaks`: a single line break stays one, as chat models and their users mean it
# (and as the prompt's text showed before it was Markdown).
_PARSER = MarkdownIt(
    "commonmark", {"html": False, "breaks": True}, renderer_cls=_ImagesAsLinks
).enable(["table", "strikethrough"])
# Opening a quote or a list item starts a nested block parse, cut at maxNesting.
_NESTING = ("blockquote_open", "list_item_open")
# `#` becomes h4, `##` h5, and deeper ones h6, the last level HTML has.
_HEADING_SHIFT = 3
_HEADINGS = ("heading_open", "heading_close")


def render_markdown(text: str) -> str:
    """`text` as sanitised HTML: Markdown formatted, raw HTML shown as text."""
    env: dict = {}  # reference-style link definitions, from parse to render
    tokens = _PARSER.parse(text, env)
    if any(_cut_short(token) for token in tokens):
        return f"<pre>{html.escape(text)}</pre>"
    for token in tokens:
        if token.type in _HEADINGS:
            token.tag = f"h{min(int(token.tag[1]) + _HEADING_SHIFT, 6)}"
    page = _PARSER.renderer.render(tokens, _PARSER.options, env)
    return nh3.clean(page, tags=_TAGS, attributes=_ATTRIBUTES)


def render_prompt(text: str, messages: Sequence[Mapping[str, str]]) -> str:
    """A prompt as annotators see it: its text, or each chat turn's content, in
    Markdown as outputs are, each turn under its role."""
    if not messages:
        return render_markdown(text)
    turns = "".join(
        f'<li class="turn turn-{_role_class(message)}">'
        f'<span class="role">{html.escape(str(message.get("role", "")).title())}</span>'
        f'<div class="content">{render_markdown(str(message.get("content", "")))}'
        "</div></li>"
        for message in messages
    )
    return f'<ol class="chat">{turns}</ol>'


def _role_class(message: Mapping[str, str]) -> str:
    """The role as a CSS class: letters only, as the page's styles name them."""
    return "".join(c for c in str(message.get("role", "")).lower() if c.isalpha())


def _cut_short(token: Token) -> bool:
    """Whether the parser dropped what this quote or list item holds."""
    return token.type in _NESTING and token.level >= _PARSER.options.maxNesting - 1
