"""Plain text and links from profile text: HTML (Mastodon's `note` and fields) and plain-text bios.

`html_to_text` uses the standard library's html.parser: paragraphs and `<br>` become line breaks,
Mastodon's `<span class="invisible">` URL parts are kept (the visible text is truncated with an
ellipsis class, the full URL is the sum of the spans), and every `href` is collected so link checks
see the real targets, except mentions and hashtags (`class="u-url mention"`, `class="mention
hashtag"`): those point at accounts and tag pages, not at anything the account links to.

`find_urls` picks the links out of a plain-text bio (Bluesky `description`, YouTube channel
`description`, Facebook `about`, Instagram `biography`), which those APIs send without link markup.
"""

from __future__ import annotations

import re
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
            values = dict(attrs)
            href = values.get("href")
            classes = (values.get("class") or "").split()
            if "mention" in classes or "hashtag" in classes:
                return  # @someone or #tag: Mastodon's own pages, not a link of the account's
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


# A bare domain counts only with one of these top-level domains: "wired.com", "district203.org/x"
# and "lincoln.k12.il.us" are links, "Node.js", "v1.2", "e.g." and "report.pdf" are not.
_TLDS = (
    "com|org|net|edu|gov|mil|int|us|uk|ca|au|nz|ie|de|fr|eu|in|io|co|me|tv|ly|gg|app|dev|page|site|"
    "social|online|info|biz|news|blog|school|academy|education|church|club|team|link|xyz"
)
_URL = re.compile(
    r"""(?ix)
    (?<![\w@./-])                       # not inside a word, an email, a path or a mention
    (?:
        https?://[^\s<>"'`]+            # a URL with its scheme
      | (?:www\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:"""
    + _TLDS
    + r""")\b(?![@\w-])(?:/[^\s<>"'`]*)?  # a bare domain, never the domain part of an email
    )
    """
)
_TRAILING = ".,;:!?'\"»…*"
_PAIRS = {")": "(", "]": "[", "}": "{"}


def _trim(url: str) -> str:
    """Trailing punctuation belongs to the sentence, and a closing bracket only to a URL that opened
    one (`(see https://x.org/a_(b))` keeps the inner pair)."""
    while url:
        last = url[-1]
        unbalanced = last in _PAIRS and url.count(_PAIRS[last]) < url.count(last)
        if last not in _TRAILING and not unbalanced:
            break
        url = url[:-1]
    return url


def find_urls(text: str) -> list[str]:
    """The links in a plain-text bio, in order, without repeats; bare domains get `https://`."""
    found: list[str] = []
    for match in _URL.finditer(text or ""):
        url = _trim(match.group(0))
        if "://" not in url:
            if "." not in url.split("/", 1)[0]:
                continue
            url = "https://" + url
        elif not re.match(r"https?://[^/\s]+\.[^/\s]", url, re.I):
            continue  # "https://" alone, or no host with a dot
        if url not in found:
            found.append(url)
    return found
