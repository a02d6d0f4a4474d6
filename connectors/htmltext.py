"""HTML to plain text with the standard library's html.parser (for Mastodon's `note` and fields).

Paragraphs and `<br>` become line breaks, Mastodon's `<span class="invisible">` URL parts are kept
(the visible text is truncated with an ellipsis class, the full URL is the sum of the spans), and
every `href` is collected so link checks see the real targets.
"""

from __future__ import annotations

from html.parser import HTMLParser


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")
        elif tag == "a":
            href = dict(attrs).get("href")
            if href and href.startswith(("http://", "https://")):
                self.links.append(href)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(markup: str) -> tuple[str, list[str]]:
    """(plain text, links) of an HTML fragment."""
    parser = _Text()
    parser.feed(markup or "")
    parser.close()
    text = "".join(parser.parts)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n".join(lines).strip(), parser.links
