"""Paging a long /status answer: every page within Telegram's limit, nothing cut or lost."""

from __future__ import annotations

import html
import re

from bot.i18n import load_translators
from bot.text import shown_length
from handlers.status import Listing, page_markup, paginate

TAGS = re.compile(r"<[^>]*>")


def plain(text: str) -> str:
    return html.unescape(TAGS.sub("", text))


def test_length_is_counted_as_telegram_counts_it() -> None:
    assert shown_length("<b>a &amp; b</b>") == 5
    assert shown_length("🔴 x") == 4  # an emoji is two UTF-16 units


def test_blocks_that_fit_are_never_split() -> None:
    blocks = [f"<b>block {n}</b>\n" + "x" * 80 for n in range(40)]
    pages = paginate(blocks, 500)
    assert all(shown_length(p) <= 500 for p in pages)
    assert [b for p in pages for b in p.split("\n\n")] == blocks


def test_a_block_longer_than_a_page_is_split_between_its_lines() -> None:
    block = "\n".join(f"<i>line {n}</i> " + "y" * 40 for n in range(30))
    pages = paginate(["<b>first</b>", block, "last"], 300)
    assert all(shown_length(p) <= 300 for p in pages)
    assert plain("\n".join(pages)).replace("\n\n", "\n").split("\n") == \
        ["first", *plain(block).split("\n"), "last"]


def test_a_line_longer_than_a_page_is_split_as_plain_text_and_nothing_is_lost() -> None:
    line = "<b>Sebab:</b> " + "a & b < c " * 100
    pages = paginate([line], 120)
    assert len(pages) > 1 and all(shown_length(p) <= 120 for p in pages)
    assert "".join(plain(p) for p in pages) == plain(line)


def test_pages_carry_the_header_and_their_number_in_the_users_language() -> None:
    malay = load_translators("ms").get("ms")
    listing = Listing("<b>60 kes terbuka</b>", ["z" * 1500 for _ in range(6)])
    pages = listing.pages(malay)
    assert len(pages) == 3
    assert all(p.startswith("<b>60 kes terbuka</b>\n\n") for p in pages)
    assert pages[1].endswith("<i>Halaman 2 daripada 3</i>")
    assert Listing("h", ["short"]).pages(malay) == ["h\n\nshort"]


def test_arrows_only_where_there_is_a_page_to_go_to() -> None:
    assert page_markup("open", 0, 1) is None
    first, middle, last = (page_markup("open", n, 3) for n in range(3))
    assert first is not None and [b.text for b in first.inline_keyboard[0]] == ["▶"]
    assert middle is not None and [b.text for b in middle.inline_keyboard[0]] == ["◀", "▶"]
    assert last is not None and [b.text for b in last.inline_keyboard[0]] == ["◀"]
    assert middle.inline_keyboard[0][0].callback_data == "pg:1:open:0"
