"""The fake Telegram's state and rules: users, chats, messages, files, commands and updates.

No HTTP lives here. `World.call(method, params, uploads)` is the Bot API as a function (the
server only moves bytes), and the driver methods (`add_user`, `send_text`, `tap`,
`wait_for_message`, ...) play the people on the other side of the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import inspect
import itertools
import json
import mimetypes
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, TypeVar

JSONDict = dict[str, Any]
Button = tuple[str, str | None]
"""An inline button as a user sees it: (label, callback_data or url)."""

GROUP_ANONYMOUS_BOT_ID = 1087968824
TELEGRAM_SERVICE_ID = 777000  # the sender of a channel post forwarded to its discussion group
MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100  # buttons in one message's inline keyboard
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024  # sendPhoto: at most 10 MB, width + height at most 10000
MAX_PHOTO_SIDES = 10000
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_POLL_TIMEOUT = 50  # Telegram answers a longer long poll after 50 seconds anyway

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?")
_BOT_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_T = TypeVar("_T")


@dataclass(frozen=True)
class Limits:
    """Telegram's sending limits, each a sliding window, answered with 429 when broken."""

    per_second: int = 30  # messages a second, all chats together
    group_per_minute: int = 20  # messages a minute to one group
    chat_per_second: int = 1  # messages a second to one chat


class _Pacing:
    """When the bot posted, to tell it "retry after" as Telegram does when it goes too fast."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.overall: list[float] = []
        self.chats: dict[int, list[float]] = {}
        self.refused = 0

    def admit(self, chat: Chat, now: float) -> None:
        """Count one post to ``chat`` at monotonic ``now``, or raise a 429."""
        windows = [(self.overall, self.limits.per_second, 1.0),
                   (self.chats.setdefault(chat.id, []), self.limits.chat_per_second, 1.0)]
        if not chat.is_private:
            windows.append((self.chats[chat.id], self.limits.group_per_minute, 60.0))
        for times, limit, period in windows:
            recent = [t for t in times if t > now - period]
            if len(recent) >= limit:
                self.refused += 1
                wait = max(1, int(recent[-limit] + period - now + 0.999))
                raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        self.overall.append(now)
        self.chats[chat.id].append(now)
        del self.overall[:-self.limits.per_second]
        keep = max(self.limits.chat_per_second, self.limits.group_per_minute)
        del self.chats[chat.id][:-keep]


class ApiError(Exception):
    """A Bot API error answer: HTTP status, Telegram's description, retry_after for a 429."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(f"{status} {description}")
        self.status = status
        self.description = description
        self.retry_after = retry_after


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _forbidden(description: str) -> ApiError:
    return ApiError(403, f"Forbidden: {description}")


def _without_none(values: JSONDict) -> JSONDict:
    return {key: value for key, value in values.items() if value is not None}


def _utf16_len(text: str) -> int:
    """Telegram measures text and entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


# ---------------------------------------------------------------------------------------------
# What lives in Telegram


@dataclass
class User:
    """A Telegram account: a person, or a bot."""

    id: int
    first_name: str
    language_code: str | None = "ms"
    username: str | None = None
    last_name: str | None = None
    is_bot: bool = False

    def to_api(self) -> JSONDict:
        """The User object as the Bot API sends it."""
        return _without_none(
            {
                "id": self.id,
                "is_bot": self.is_bot,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
                "language_code": self.language_code,
            }
        )


ANONYMOUS_ADMIN = User(
    GROUP_ANONYMOUS_BOT_ID, "Group", None, username="GroupAnonymousBot", is_bot=True
)
TELEGRAM_SERVICE = User(TELEGRAM_SERVICE_ID, "Telegram", None)


@dataclass
class Chat:
    """A private chat (its id is the user's), a group or a supergroup."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    members: set[int] = field(default_factory=set)
    admins: set[int] = field(default_factory=set)
    creator: int | None = None
    bot_status: str = "left"  # the bot's ChatMember status in this chat
    started: bool = False  # private: the user has written to the bot at least once
    menu_button: JSONDict | None = None
    last_message_id: int = 0
    pinned: int | None = None  # the pinned message's id

    @property
    def is_private(self) -> bool:
        """Whether this is a user's one-to-one chat with the bot."""
        return self.type == "private"

    def to_api(self) -> JSONDict:
        """The Chat object as the Bot API sends it inside messages."""
        return _without_none(
            {
                "id": self.id,
                "type": self.type,
                "title": self.title,
                "username": self.username,
                "first_name": self.first_name,
                "last_name": self.last_name,
            }
        )


@dataclass
class StoredFile:
    """A file Telegram keeps: what a user or the bot uploaded, served back through getFile."""

    file_id: str
    file_unique_id: str
    content: bytes
    file_name: str | None
    mime_type: str | None
    file_path: str

    def to_document(self) -> JSONDict:
        """The Document object as the Bot API sends it."""
        return _without_none(
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "file_name": self.file_name,
                "mime_type": self.mime_type,
                "file_size": len(self.content),
            }
        )


def png_size(content: bytes) -> tuple[int, int]:
    """A PNG's width and height from its header; (0, 0) for anything else."""
    if content[:8] != b"\x89PNG\r\n\x1a\n" or len(content) < 24:
        return 0, 0
    return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")


def _buttons(markup: JSONDict | None) -> list[list[Button]]:
    rows = (markup or {}).get("inline_keyboard", [])
    return [[(b["text"], b.get("callback_data", b.get("url"))) for b in row] for row in rows]


@dataclass
class Revision:
    """What a message showed before one of its edits."""

    text: str | None
    reply_markup: JSONDict | None

    @property
    def buttons(self) -> list[list[Button]]:
        """The inline keyboard it showed, as rows of (label, callback_data or url)."""
        return _buttons(self.reply_markup)


@dataclass
class Message:
    """A message in a chat, from the bot or from a person; the driver API hands these out."""

    chat: Chat
    message_id: int
    date: int
    sender: User
    from_bot: bool = False
    text: str | None = None  # as the user sees it: parse_mode markup already applied
    caption: str | None = None
    source: str | None = None  # text or caption exactly as the bot sent it
    parse_mode: str | None = None
    entities: list[JSONDict] = field(default_factory=list)
    reply_markup: JSONDict | None = None
    protect_content: bool = False
    document: StoredFile | None = None
    photo: StoredFile | None = None
    reply_to: Message | None = None
    sender_chat: Chat | None = None
    service: JSONDict = field(default_factory=dict)  # new_chat_members and the like
    edit_date: int | None = None
    edits: list[Revision] = field(default_factory=list)
    deleted: bool = False
    delivered: bool = True  # a person's message: did the bot get it as an update?
    changed: int = 0  # the world's sequence number at this message's last send or edit
    seen: int = 0  # the revision a wait_for_message already returned

    @property
    def content(self) -> str | None:
        """The text, or the caption of a document."""
        return self.text if self.text is not None else self.caption

    @property
    def buttons(self) -> list[list[Button]]:
        """The inline keyboard, as rows of (label, callback_data or url)."""
        return _buttons(self.reply_markup)

    def data_for(self, label: str) -> str:
        """The callback_data of the button showing `label`."""
        for row in self.buttons:
            for text, data in row:
                if text == label and data is not None:
                    return data
        raise AssertionError(f"message #{self.message_id} has no button {label!r}: {self.buttons}")

    def to_api(self, *, with_reply: bool = True) -> JSONDict:
        """The Message object as the Bot API sends it."""
        body: JSONDict = {
            "message_id": self.message_id,
            "date": self.date,
            "chat": self.chat.to_api(),
            "from": self.sender.to_api(),
        }
        if self.sender_chat is not None:
            body["sender_chat"] = self.sender_chat.to_api()
        if self.text is not None:
            body["text"] = self.text
            if self.entities:
                body["entities"] = self.entities
        if self.caption is not None:
            body["caption"] = self.caption
            if self.entities:
                body["caption_entities"] = self.entities
        if self.document is not None:
            body["document"] = self.document.to_document()
        if self.photo is not None:
            width, height = png_size(self.photo.content)
            body["photo"] = [{"file_id": self.photo.file_id,
                              "file_unique_id": self.photo.file_unique_id,
                              "width": width, "height": height,
                              "file_size": len(self.photo.content)}]
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            # Only inline keyboards travel with a message; reply keyboards stay client-side.
            body["reply_markup"] = self.reply_markup
        if self.reply_to is not None and with_reply:
            body["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.edit_date is not None:
            body["edit_date"] = self.edit_date
        if self.protect_content:
            body["has_protected_content"] = True
        body.update(self.service)
        return body

    def __str__(self) -> str:
        who = "bot" if self.from_bot else self.sender.first_name
        body = self.content if self.content is not None else "[service message]"
        if self.document is not None:
            body = f"[{self.document.file_name}] {self.caption or ''}".rstrip()
        if self.photo is not None:
            body = f"[photo] {self.caption or ''}".rstrip()
        extra = "".join(f" [{label}]" for row in self.buttons for label, _ in row)
        flags = (" (deleted)" if self.deleted else "") + (
            f" (edited {len(self.edits)}x)" if self.edits else ""
        )
        undelivered = "" if self.delivered else " (not delivered to the bot)"
        return f"#{self.message_id} {who}: {body!r}{extra}{flags}{undelivered}"


@dataclass
class CallbackAnswer:
    """What the bot said in answerCallbackQuery."""

    text: str | None
    show_alert: bool
    url: str | None


@dataclass(frozen=True)
class Upload:
    """A file sent in a multipart request body."""

    filename: str | None
    content_type: str | None
    body: bytes


@dataclass
class _Fault:
    method: str
    status: int | None
    retry_after: int
    description: str | None
    delay: float
    remaining: int

    def error(self) -> ApiError:
        assert self.status is not None
        if self.description is not None:
            description = self.description
        elif self.status == 429:
            description = f"Too Many Requests: retry after {self.retry_after}"
        else:
            description = HTTPStatus(self.status).phrase
        retry_after = self.retry_after if self.status == 429 else None
        return ApiError(self.status, description, retry_after=retry_after)


class _Signal:
    """A broadcast wake-up: every coroutine waiting now wakes at the next notify()."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


class Params:
    """A Bot API call's parameters, typed the lenient way Telegram reads them."""

    def __init__(self, values: Mapping[str, object], uploads: Mapping[str, Upload]) -> None:
        self.values = values
        self.uploads = uploads

    def has(self, name: str) -> bool:
        """Whether the parameter was sent."""
        return self.values.get(name) not in (None, "")

    def text(self, name: str) -> str | None:
        """A string parameter; numbers sent in JSON count as their text."""
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value)

    def integer(self, name: str) -> int | None:
        """An integer parameter, given as a JSON number or as text."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise _bad(f"invalid {name} specified")
        try:
            return int(value)
        except ValueError:
            raise _bad(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        """A Boolean parameter, given as JSON true or as the text "true"."""
        return self.values.get(name) in (True, 1, "true", "True", "1")

    def json(self, name: str) -> Any:
        """A JSON-serialized object parameter (forms carry it as text)."""
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {name} JSON object") from None

    def upload(self, name: str) -> Upload | None:
        """The file sent for `name`: its own multipart field, or an attach://<field> reference."""
        value = self.values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            return self.uploads.get(value.removeprefix("attach://"))
        return self.uploads.get(name)


# ---------------------------------------------------------------------------------------------
# Formatted text: Telegram applies parse_mode and returns plain text with entities


def _formatting_error(detail: str) -> ApiError:
    return _bad(f"can't parse entities: {detail}")


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_HTML_ATTRIBUTE = re.compile(r"""([a-zA-Z-]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]*))?""")


class _Text:
    """Plain text being built, with its length kept in UTF-16 units for entity offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.entities: list[JSONDict] = []

    def add(self, piece: str) -> None:
        self.parts.append(piece)
        self.length += _utf16_len(piece)

    def entity(self, entity: JSONDict, begin: int) -> None:
        if entity.get("type") and self.length > begin:  # Telegram drops empty entities
            self.entities.append({**entity, "offset": begin, "length": self.length - begin})

    def result(self) -> tuple[str, list[JSONDict]]:
        return "".join(self.parts), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode())


def _parse_html(source: str) -> tuple[str, list[JSONDict]]:
    """Telegram's HTML style: a `<` always opens a tag, and tags must be known and balanced."""
    out = _Text()
    stack: list[tuple[str, int, JSONDict]] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "&":
            entity = _HTML_ENTITY.match(source, i)
            piece = html.unescape(entity.group()) if entity else "&"  # unknown & stays as is
            out.add(piece)
            i = entity.end() if entity else i + 1
            continue
        if char != "<":
            out.add(char)
            i += 1
            continue
        at = _byte_offset(source, i)
        close = source.find(">", i)
        if source.startswith("</", i):
            if not stack:
                raise _formatting_error(f"Unexpected end tag at byte offset {at}")
            if close < 0:
                raise _formatting_error(f"Unclosed end tag at byte offset {at}")
            name = source[i + 2 : close].strip().lower()
            open_name, begin, entity_data = stack.pop()
            if name and name != open_name:
                raise _formatting_error(
                    f'Unmatched end tag at byte offset {at}, expected "</{open_name}>", '
                    f'found "</{name}>"'
                )
            out.entity(entity_data, begin)
            i = close + 1
            continue
        name_match = re.compile(r"[^\s>]*").match(source, i + 1)
        assert name_match is not None
        name = name_match.group().lower()
        if name_match.end() >= len(source):
            raise _formatting_error(f"Unclosed start tag at byte offset {at}")
        if name not in _HTML_TAGS:
            raise _formatting_error(f'Unsupported start tag "{name}" at byte offset {at}')
        if close < 0:
            raise _formatting_error(f"Unclosed start tag at byte offset {at}")
        attributes = {
            key.lower(): (value or "").strip("\"'")
            for key, value in _HTML_ATTRIBUTE.findall(source[name_match.end() : close])
        }
        stack.append((name, out.length, _html_entity(name, attributes, stack, at)))
        i = close + 1
    if stack:
        raise _formatting_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _html_entity(
    name: str, attributes: dict[str, str], stack: list[tuple[str, int, JSONDict]], at: int
) -> JSONDict:
    kind = _HTML_TAGS[name]
    if name == "span" and attributes.get("class") != "tg-spoiler":
        raise _formatting_error(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
    if name == "a":
        href = attributes.get("href")
        return {"type": kind, "url": href} if href else {}
    if name == "code" and stack and stack[-1][0] == "pre":
        # <pre><code class="language-x"> is one pre entity with a language
        language = attributes.get("class", "").removeprefix("language-")
        if language:
            stack[-1][2]["language"] = language
        return {}
    if name == "blockquote" and "expandable" in attributes:
        return {"type": "expandable_blockquote"}
    if name == "tg-emoji":
        return {"type": kind, "custom_emoji_id": attributes.get("emoji-id", "")}
    return {"type": kind}


_MARKDOWN_V2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MARKDOWN_V2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def _markdown_v2_closes(kind: str, source: str, i: int) -> int:
    """How many characters at `i` end an open entity of this kind (0 if they do not)."""
    after = source[i + 1 : i + 2]
    ends = {
        "bold": 1 if source[i] == "*" else 0,
        "italic": 1 if source[i] == "_" and after != "_" else 0,
        "underline": 2 if source.startswith("__", i) else 0,
        "strikethrough": 1 if source[i] == "~" else 0,
        "spoiler": 2 if source.startswith("||", i) else 0,
        "code": 1 if source[i] == "`" else 0,
        "pre": 3 if source.startswith("```", i) else 0,
        "text_link": 1 if source[i] == "]" else 0,
        "custom_emoji": 1 if source[i] == "]" else 0,
    }
    return ends[kind]


def _markdown_v2_opens(source: str, i: int) -> tuple[str, int]:
    """The entity that the reserved character at `i` opens, and its marker's length."""
    char, pair = source[i], source[i : i + 2]
    openers = {"*": ("bold", 1), "~": ("strikethrough", 1), "[": ("text_link", 1)}
    if char in openers:
        return openers[char]
    if pair == "__":
        return "underline", 2
    if char == "_":
        return "italic", 1
    if pair == "||":
        return "spoiler", 2
    if source.startswith("```", i):
        return "pre", 3
    if char == "`":
        return "code", 1
    if pair == "![":
        return "custom_emoji", 2
    raise _formatting_error(
        f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
    )


def _parse_markdown_v2(source: str) -> tuple[str, list[JSONDict]]:
    """Telegram's MarkdownV2: every reserved character outside an entity marker is an error."""
    out = _Text()
    stack: list[tuple[str, int, int]] = []  # kind, begin (UTF-16), byte offset of the marker
    i = 0
    while i < len(source):
        char = source[i]
        if char == "\\" and i + 1 < len(source) and ord(source[i + 1]) <= 126:
            out.add(source[i + 1])
            i += 2
            continue
        inside = stack[-1][0] if stack else None
        reserved = "`" if inside in ("code", "pre") else _MARKDOWN_V2_RESERVED
        if char not in reserved:
            out.add(char)
            i += 1
            continue
        if char == ">" and inside is None and (i == 0 or source[i - 1] == "\n"):
            i += 1  # a blockquote line; kept as plain text here
            continue
        closing = _markdown_v2_closes(inside, source, i) if inside else 0
        if not closing:
            kind, width = _markdown_v2_opens(source, i)
            stack.append((kind, out.length, _byte_offset(source, i)))
            i += width
            if kind == "pre":  # the rest of the opening line names the language
                newline = source.find("\n", i)
                if newline >= 0 and " " not in source[i:newline]:
                    i = newline + 1
            continue
        kind, begin, _ = stack.pop()
        i += closing
        entity: JSONDict = {"type": kind}
        if kind in ("text_link", "custom_emoji"):
            if not source.startswith("(", i):
                continue  # no (url): Telegram keeps the text without a link
            end = source.find(")", i)
            if end < 0:
                raise _formatting_error(f"Can't find end of a url at byte offset {begin}")
            target = source[i + 1 : end].replace("\\)", ")").replace("\\\\", "\\")
            entity.update({"url": target} if kind == "text_link" else {"custom_emoji_id": target})
            i = end + 1
        out.entity(entity, begin)
    if stack:
        kind, _, at = stack[-1]
        raise _formatting_error(
            f"Can't find end of {_MARKDOWN_V2_NAMES[kind]} entity at byte offset {at}"
        )
    return out.result()


def _parse_markdown(source: str) -> tuple[str, list[JSONDict]]:
    """Telegram's legacy Markdown: *bold*, _italic_, `code`, ```pre``` and [text](url)."""
    out = _Text()
    i = 0
    kinds = {"*": "bold", "_": "italic", "`": "code"}
    while i < len(source):
        char = source[i]
        if char == "\\" and i + 1 < len(source) and source[i + 1] in "_*`[":
            out.add(source[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.add(char)
            i += 1
            continue
        marker = "```" if source.startswith("```", i) else ("]" if char == "[" else char)
        end = source.find(marker, i + (3 if marker == "```" else 1))
        if end < 0:
            raise _formatting_error(
                f"Can't find end of the entity starting at byte offset {_byte_offset(source, i)}"
            )
        begin = out.length
        out.add(source[i + (3 if marker == "```" else 1) : end])
        i = end + len(marker)
        entity: JSONDict = {"type": "pre" if marker == "```" else kinds.get(char, "text_link")}
        if char == "[":
            url_end = source.find(")", i) if source.startswith("(", i) else -1
            if url_end < 0:
                continue
            entity["url"] = source[i + 1 : url_end]
            i = url_end + 1
        out.entity(entity, begin)
    return out.result()


def parse_formatted(source: str, parse_mode: str | None) -> tuple[str, list[JSONDict]]:
    """The plain text and entities Telegram makes of `source` under `parse_mode`."""
    mode = (parse_mode or "").lower()
    if mode == "":
        return source, []
    if mode == "html":
        return _parse_html(source)
    if mode == "markdownv2":
        return _parse_markdown_v2(source)
    if mode == "markdown":
        return _parse_markdown(source)
    raise _bad(f"unsupported parse_mode {parse_mode!r}")


# ---------------------------------------------------------------------------------------------
# The world


class World:
    """Everything the fake Telegram knows, the Bot API over it, and the driver for tests."""

    def __init__(
        self,
        token: str = "123:TEST",
        *,
        bot_username: str = "ikabot_test_bot",
        bot_name: str = "IkaBot",
        privacy_mode: bool = True,
        clock: Callable[[], datetime] | None = None,
        on_bot_message: Callable[[Message, str], object] | None = None,
        limits: Limits | None = None,
    ) -> None:
        if not TOKEN_PATTERN.match(token):
            raise ValueError(f"a bot token looks like 123:ABC, not {token!r}")
        self.token = token
        self.bot = User(
            int(token.split(":")[0]), bot_name, None, username=bot_username, is_bot=True
        )
        self.privacy_mode = privacy_mode
        self.clock = clock or (lambda: datetime.now(UTC))
        self.on_bot_message = on_bot_message
        self.pacing = _Pacing(limits) if limits is not None else None
        """With ``limits``, posting faster than Telegram allows is answered 429."""
        """Called with (message, "sent" | "edited" | "deleted") as the bot acts: the demo prints."""
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.requests: list[tuple[str, dict[str, object]]] = []
        """Every Bot API call as (method, params), failed ones included."""
        self.errors: list[tuple[str, int, str]] = []
        """Every error answered, as (method, status, description)."""
        self.webhook_url = ""
        self._default_menu_button: JSONDict = {"type": "default"}
        self._history: dict[int, list[Message]] = {}
        self._updates: list[JSONDict] = []
        self._update_ids = itertools.count(1)
        self._ids = itertools.count(1)
        self._seq = 0
        self._marks: dict[int, int] = {}
        self._faults: list[_Fault] = []
        self._commands: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._callbacks: dict[str, CallbackAnswer | None] = {}
        self._taps: dict[str, JSONDict] = {}
        self._poll_generation = 0
        self._polls_waiting = 0
        self._closed = False
        self._new_update = _Signal()
        self._activity = _Signal()
        self._methods: dict[str, Callable[[Params], object]] = {
            name.lower(): handler
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageCaption": self._edit_message_caption,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "sendDocument": self._send_document,
                "sendPhoto": self._send_photo,
                "getFile": self._get_file,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendChatAction": self._send_chat_action,
                "getChat": self._get_chat,
                "pinChatMessage": self._pin_chat_message,
                "unpinChatMessage": self._unpin_chat_message,
                "getChatMember": self._get_chat_member,
                "getChatAdministrators": self._get_chat_administrators,
                "leaveChat": self._leave_chat,
                "setChatMenuButton": self._set_chat_menu_button,
                "getChatMenuButton": self._get_chat_menu_button,
            }.items()
        }

    # -- the people ----------------------------------------------------------------------------

    def add_user(
        self,
        id: int,
        first_name: str,
        language_code: str | None = "ms",
        username: str | None = None,
        *,
        last_name: str | None = None,
    ) -> User:
        """A person, with their private chat (same id) that the bot may write to once they have."""
        user = User(id, first_name, language_code, username, last_name)
        self.users[id] = user
        self._add_chat(
            Chat(
                id,
                "private",
                username=username,
                first_name=first_name,
                last_name=last_name,
                members={id},
                bot_status="member",
            )
        )
        return user

    def add_group(
        self,
        chat_id: int,
        title: str,
        members: Iterable[User | int] = (),
        *,
        admins: Iterable[User | int] = (),
        creator: User | int | None = None,
        supergroup: bool | None = None,
        username: str | None = None,
        bot_member: bool = False,
    ) -> Chat:
        """A group, a supergroup if its id starts with -100; the bot joins by bot_added_to_group."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if supergroup is None:
            supergroup = str(chat_id).startswith("-100")
        admin_ids = {_user_id(a) for a in admins}
        creator_id = None if creator is None else _user_id(creator)
        everyone = {_user_id(m) for m in members} | admin_ids
        if creator_id is not None:
            everyone.add(creator_id)
        chat = Chat(
            chat_id,
            "supergroup" if supergroup else "group",
            title=title,
            username=username,
            members=everyone,
            admins=admin_ids,
            creator=creator_id,
            bot_status="member" if bot_member else "left",
        )
        self._add_chat(chat)
        return chat

    def bot_added_to_group(self, chat_id: int, by_user: User, *, as_admin: bool = False) -> None:
        """`by_user` adds the bot: a my_chat_member update, then the new_chat_members message."""
        chat = self._chat(chat_id)
        old = chat.bot_status
        chat.bot_status = "administrator" if as_admin else "member"
        self._my_chat_member(chat, by_user, old, chat.bot_status)
        message = self._add_message(
            chat, by_user, service={"new_chat_members": [self.bot.to_api()]}
        )
        self._enqueue("message", message.to_api())

    def bot_removed_from_group(self, chat_id: int, by_user: User) -> None:
        """`by_user` removes the bot: a my_chat_member update (the bot sees no further message)."""
        chat = self._chat(chat_id)
        old, chat.bot_status = chat.bot_status, "left"
        self._add_message(chat, by_user, service={"left_chat_member": self.bot.to_api()})
        self._my_chat_member(chat, by_user, old, "left")

    def block(self, chat_id: int) -> None:
        """The user blocks the bot: my_chat_member to "kicked", then 403 on every send."""
        chat = self._chat(chat_id)
        if not chat.is_private:
            raise ValueError("only a user blocks a bot; use bot_removed_from_group for groups")
        old, chat.bot_status = chat.bot_status, "kicked"
        self._my_chat_member(chat, self.users[chat.id], old, "kicked")

    def unblock(self, chat_id: int) -> None:
        """The user unblocks the bot: my_chat_member back to "member"."""
        chat = self._chat(chat_id)
        old, chat.bot_status = chat.bot_status, "member"
        self._my_chat_member(chat, self.users[chat.id], old, "member")

    async def send_text(self, user: User, text: str, chat: Chat | int | None = None) -> Message:
        """`user` writes `text`: commands get bot_command entities, `/start PAYLOAD` deep-links."""
        return self._person_writes(user, self._where(user, chat), text=text)

    async def send_anonymous(self, chat: Chat | int, text: str) -> Message:
        """An anonymous group admin writes: from GroupAnonymousBot, sender_chat the group."""
        group = self._chat(chat)
        return self._person_writes(ANONYMOUS_ADMIN, group, text=text, sender_chat=group)

    async def reply(self, user: User, to_message: Message, text: str) -> Message:
        """`user` replies to a message in its chat."""
        return self._person_writes(user, to_message.chat, text=text, reply_to=to_message)

    async def send_document(
        self,
        user: User,
        filename: str,
        content: bytes,
        mime_type: str | None = None,
        caption: str | None = None,
        chat: Chat | int | None = None,
    ) -> Message:
        """`user` sends a file; the bot can getFile and download the same bytes."""
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = self._store_file(content, filename, mime)
        return self._person_writes(user, self._where(user, chat), caption=caption, document=stored)

    async def edit(self, user: User, message: Message, text: str) -> Message:
        """`user` edits a text message they sent: the bot gets an edited_message update."""
        if message.sender.id != user.id or message.from_bot or message.text is None:
            raise AssertionError(f"{user.first_name} cannot edit {message}")
        self._remember(message)
        message.text = text
        message.entities = _command_entities(text)
        self._touched(message, "edited", edit=True)
        message.delivered = self._bot_receives(message)
        self._marks[message.chat.id] = self._seq
        if message.delivered:
            self._enqueue("edited_message", message.to_api())
        return message

    def add_channel(self, chat_id: int, title: str) -> Chat:
        """A channel with the bot among its admins, so that it receives the channel's posts."""
        chat = Chat(chat_id, "channel", title=title, bot_status="administrator")
        self._add_chat(chat)
        return chat

    async def post_in_channel(self, chat: Chat | int, text: str) -> JSONDict:
        """A post in a channel: a channel_post update, with no sender but the channel."""
        channel = self._chat(chat)
        channel.last_message_id += 1
        post = {"message_id": channel.last_message_id, "date": int(self.clock().timestamp()),
                "chat": channel.to_api(), "sender_chat": channel.to_api(), "text": text,
                "entities": _command_entities(text)}
        self._enqueue("channel_post", post)
        return post

    async def forward_from_channel(self, channel: Chat | int, group: Chat | int,
                                   text: str) -> Message:
        """A channel's post copied into its linked discussion group (is_automatic_forward)."""
        source, discussion = self._chat(channel), self._chat(group)
        message = self._add_message(
            discussion, TELEGRAM_SERVICE, text=text, entities=_command_entities(text),
            sender_chat=source, service={"is_automatic_forward": True,
                                         "forward_origin": {"type": "channel",
                                                            "chat": source.to_api(),
                                                            "message_id": 1, "date": 0}})
        self._marks[discussion.id] = self._seq
        self._enqueue("message", message.to_api())
        return message

    async def tap(self, user: User, message: Message, callback_data: str) -> str:
        """`user` presses the message's button carrying `callback_data`; returns the query id."""
        shown = [data for row in message.buttons for _, data in row]
        if callback_data not in shown:
            raise AssertionError(
                f"{message} shows no button with data {callback_data!r}: {message.buttons}"
            )
        return await self.forge_tap(user, message, callback_data)

    async def forge_tap(self, user: User, message: Message, callback_data: str) -> str:
        """A callback query with any data, as a tampering client could send; returns its id."""
        if not message.from_bot or message.deleted:
            raise AssertionError(f"nobody can tap on {message}")
        self._check_can_write(user, message.chat)
        query_id = str(10**15 + next(self._ids))
        self._callbacks[query_id] = None
        self._marks[message.chat.id] = self._seq
        self._taps[query_id] = {
            "id": query_id,
            "from": user.to_api(),
            "message": message.to_api(),
            "chat_instance": str(message.chat.id ^ 0x5DEECE66D),
            "data": callback_data,
        }
        self._enqueue("callback_query", self._taps[query_id])
        return query_id

    def redeliver(self, query_id: str) -> None:
        """The same tap again, as Telegram delivers an update a crashed bot never confirmed:
        answered already (or too late), its answer is refused."""
        self._enqueue("callback_query", self._taps[query_id])

    def tap_answer(self, query_id: str) -> CallbackAnswer | None:
        """What answerCallbackQuery said for this tap (None while unanswered)."""
        return self._callbacks[query_id]

    # -- what the people see -------------------------------------------------------------------

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[Message]:
        """The bot's messages in the chat, oldest first, as they read now."""
        return [
            m for m in self.history(chat_id) if m.from_bot and (include_deleted or not m.deleted)
        ]

    def history(self, chat_id: int) -> list[Message]:
        """Every message in the chat, the people's too, oldest first."""
        return list(self._history[self._chat(chat_id).id])

    def last(self, chat_id: int) -> Message:
        """The bot's latest message in the chat."""
        sent = self.messages(chat_id)
        if not sent:
            raise AssertionError(
                f"the bot sent nothing to chat {chat_id}\n{self.transcript(chat_id)}"
            )
        return sent[-1]

    def transcript(self, chat_id: int) -> str:
        """The chat as readable lines, for failure messages and the demo."""
        lines = [f"  {m}" for m in self.history(chat_id)] or ["  (empty)"]
        return f"chat {chat_id}:\n" + "\n".join(lines)

    def commands(
        self, scope: str | Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[tuple[str, str]]:
        """The bot's command menu for a scope ("default", {"type": "chat", ...}) and language."""
        raw = {"type": scope} if isinstance(scope, str) else scope
        return list(self._commands.get((self._scope_key(raw), language_code), []))

    def calls(self, method: str) -> list[dict[str, object]]:
        """The params of every call to `method`, in order."""
        return [params for name, params in self.requests if name.lower() == method.lower()]

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by the bot."""
        return list(self._updates)

    @property
    def polling(self) -> bool:
        """Whether a getUpdates long poll is waiting right now."""
        return self._polls_waiting > 0

    async def wait_for(
        self, predicate: Callable[[], _T | None], timeout: float = 5.0, *, what: str = ""
    ) -> _T:
        """Wait until predicate() is truthy, rechecking on each bot request; return its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what or predicate}\n"
                    + self._recent_errors()
                )
            await self._activity.wait(remaining)

    async def wait_for_message(
        self,
        chat_id: int,
        contains: str | None = None,
        *,
        timeout: float = 5.0,
        include_earlier: bool = False,
    ) -> Message:
        """The bot's next new or edited message in the chat whose text contains `contains`.

        New means changed after the chat's last driver action (send_text, tap, ...) and not yet
        returned by a wait in that revision, so consecutive waits walk forward through what the
        bot sent; `include_earlier` accepts any message that shows the text now.
        """
        chat = self._chat(chat_id)
        mark = self._marks.get(chat.id, 0)

        def found() -> Message | None:
            for m in self._history[chat.id]:
                fresh = include_earlier or m.changed > max(mark, m.seen)
                wanted = contains is None or contains in (m.content or "")
                if m.from_bot and not m.deleted and fresh and wanted:
                    m.seen = m.changed
                    return m
            return None

        try:
            return await self.wait_for(found, timeout)
        except AssertionError:
            wanted = f" containing {contains!r}" if contains is not None else ""
            raise AssertionError(
                f"no new bot message{wanted} in chat {chat.id} within {timeout}s\n"
                f"{self.transcript(chat.id)}\n{self._recent_errors()}"
            ) from None

    # -- fault injection -----------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = 429,
        retry_after: int = 1,
        count: int = 1,
        description: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Fail the next `count` calls to `method` with `status` (429 carries retry_after).

        `delay` holds the answer back that many seconds so the client times out; with
        status=None the call still takes effect, as a real request that timed out late may.
        """
        self._faults.append(_Fault(method.lower(), status, retry_after, description, delay, count))

    # -- the Bot API ---------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        values: Mapping[str, object],
        uploads: Mapping[str, Upload] | None = None,
    ) -> object:
        """Answer one Bot API call as Telegram would: the result, or raise ApiError."""
        uploads = uploads or {}
        self.requests.append((method, {**values, **uploads}))
        self._activity.notify()
        try:
            fault = self._take_fault(method)
            if fault is not None and fault.status is not None:
                await self._pause(fault.delay)
                raise fault.error()
            handler = self._methods.get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found")
            result = handler(Params(values, uploads))
            if inspect.isawaitable(result):
                result = await result
            if fault is not None:
                await self._pause(fault.delay)
            return result
        except ApiError as error:
            self.errors.append((method, error.status, error.description))
            raise
        finally:
            self._activity.notify()

    def file_content(self, file_path: str) -> StoredFile | None:
        """The stored file at a getFile file_path, for the download endpoint."""
        return next((f for f in self.files.values() if f.file_path == file_path), None)

    def close(self) -> None:
        """Wake every waiting long poll and delayed answer so the server can stop."""
        self._closed = True
        self._new_update.notify()
        self._activity.notify()

    def _get_me(self, p: Params) -> JSONDict:
        return {
            **self.bot.to_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, p: Params) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = p.integer("offset") or 0
        limit = min(max(p.integer("limit") or 100, 1), 100)
        timeout = min(max(p.integer("timeout") or 0, 0), MAX_POLL_TIMEOUT)
        if offset > 0:  # calling with an offset confirms every earlier update
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:  # -N keeps the last N updates and forgets the rest
            self._updates = self._updates[offset:]
        # A newer getUpdates ends an older one with 409, as two pollers on one token do.
        self._poll_generation += 1
        generation = self._poll_generation
        self._new_update.notify()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._polls_waiting += 1
        self._activity.notify()
        try:
            while True:
                if generation != self._poll_generation:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that "
                        "only one bot instance is running",
                    )
                remaining = deadline - loop.time()
                if self._updates or remaining <= 0 or self._closed:
                    return self._updates[:limit]
                await self._new_update.wait(remaining)
        finally:
            self._polls_waiting -= 1

    def _set_webhook(self, p: Params) -> bool:
        url = p.text("url") or ""
        if url and not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        return True

    def _delete_webhook(self, p: Params) -> bool:
        self.webhook_url = ""
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, p: Params) -> JSONDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _send_message(self, p: Params) -> JSONDict:
        chat = self._postable_chat(p)
        text, entities = self._formatted(p, "text", MAX_MESSAGE_LENGTH)
        message = self._bot_posts(
            chat,
            p,
            text=text,
            entities=entities,
            source=p.text("text"),
            parse_mode=p.text("parse_mode"),
        )
        return message.to_api()

    def _send_document(self, p: Params) -> JSONDict:
        chat = self._postable_chat(p)
        caption = p.text("caption")
        plain, entities = (
            self._formatted(p, "caption", MAX_CAPTION_LENGTH)
            if caption
            else (
                None,
                [],
            )
        )
        message = self._bot_posts(
            chat,
            p,
            caption=plain,
            entities=entities,
            source=caption,
            parse_mode=p.text("parse_mode"),
            document=self._document_from(p),
        )
        return message.to_api()

    def _send_photo(self, p: Params) -> JSONDict:
        chat = self._writable_chat(p)
        caption = p.text("caption")
        plain, entities = (self._formatted(p, "caption", MAX_CAPTION_LENGTH) if caption
                           else (None, []))
        upload = p.upload("photo")
        if upload is None:
            raise _bad("there is no photo in the request")
        if len(upload.body) > MAX_PHOTO_BYTES:
            raise _bad("PHOTO_INVALID_DIMENSIONS")
        width, height = png_size(upload.body)
        if width + height > MAX_PHOTO_SIDES:
            raise _bad("PHOTO_INVALID_DIMENSIONS")
        photo = self._store_file(upload.body, upload.filename or "photo.png", "image/png")
        message = self._bot_posts(chat, p, caption=plain, entities=entities, source=caption,
                                  parse_mode=p.text("parse_mode"), photo=photo)
        return message.to_api()

    def _edit_message_text(self, p: Params) -> JSONDict:
        message = self._editable(p)
        if message.text is None:
            raise _bad("there is no text in the message to edit")
        text, entities = self._formatted(p, "text", MAX_MESSAGE_LENGTH)
        # Leaving out reply_markup removes the keyboard, as on Telegram.
        self._revise(message, text, entities, self._reply_markup(p), p)
        return message.to_api()

    def _edit_message_caption(self, p: Params) -> JSONDict:
        message = self._editable(p)
        if message.document is None:
            raise _bad("there is no caption in the message to edit")
        caption = p.text("caption")
        plain, entities = (
            self._formatted(p, "caption", MAX_CAPTION_LENGTH)
            if caption
            else (
                None,
                [],
            )
        )
        self._revise(message, plain, entities, self._reply_markup(p), p)
        return message.to_api()

    def _edit_message_reply_markup(self, p: Params) -> JSONDict:
        message = self._editable(p)
        markup = self._reply_markup(p)
        if markup == message.reply_markup:
            raise _bad(NOT_MODIFIED)
        self._remember(message)
        message.reply_markup = markup
        self._touched(message, "edited", edit=True)
        return message.to_api()

    def _delete_message(self, p: Params) -> bool:
        chat = self._known_chat(p)
        message = self._find_message(chat, p.integer("message_id"))
        if message is None or message.deleted:
            raise _bad("message to delete not found")
        if not (message.from_bot or chat.is_private or chat.bot_status == "administrator"):
            raise _bad("message can't be deleted")
        message.deleted = True
        self._touched(message, "deleted")
        return True

    def _answer_callback_query(self, p: Params) -> bool:
        query_id = p.text("callback_query_id") or ""
        if self._callbacks.get(query_id, "unknown") is not None:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        if _utf16_len(p.text("text") or "") > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad("MESSAGE_TOO_LONG")
        self._callbacks[query_id] = CallbackAnswer(
            p.text("text"), p.flag("show_alert"), p.text("url")
        )
        return True

    def _get_file(self, p: Params) -> JSONDict:
        stored = self.files.get(p.text("file_id") or "")
        if stored is None:
            raise _bad("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _set_my_commands(self, p: Params) -> bool:
        commands = p.json("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        menu: list[tuple[str, str]] = []
        for entry in commands:
            name = str(entry.get("command", "")) if isinstance(entry, dict) else ""
            description = str(entry.get("description", "")) if isinstance(entry, dict) else ""
            if not _BOT_COMMAND_NAME.match(name.removeprefix("/")):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            menu.append((name.removeprefix("/"), description))
        self._commands[self._command_key(p)] = menu
        return True

    def _get_my_commands(self, p: Params) -> list[JSONDict]:
        menu = self._commands.get(self._command_key(p), [])
        return [{"command": name, "description": text} for name, text in menu]

    def _delete_my_commands(self, p: Params) -> bool:
        self._commands.pop(self._command_key(p), None)
        return True

    def _send_chat_action(self, p: Params) -> bool:
        self._writable_chat(p)
        if p.text("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _pin_chat_message(self, p: Params) -> bool:
        chat = self._writable_chat(p)
        if not chat.is_private and chat.bot_status not in ("administrator", "creator"):
            raise _bad("not enough rights to manage pinned messages in the chat")
        message = self._find_message(chat, p.integer("message_id"))
        if message is None or message.deleted:
            raise _bad("message to pin not found")
        chat.pinned = message.message_id
        return True

    def _unpin_chat_message(self, p: Params) -> bool:
        chat = self._writable_chat(p)
        chat.pinned = None
        return True

    def unpin(self, chat_id: int) -> None:
        """Someone unpins the chat's pinned message."""
        self._chat(chat_id).pinned = None

    def delete_by_person(self, chat_id: int, message_id: int) -> None:
        """An admin deletes one of the bot's messages."""
        chat = self._chat(chat_id)
        message = self._find_message(chat, message_id)
        if message is not None:
            message.deleted = True
            if chat.pinned == message_id:
                chat.pinned = None

    def _get_chat(self, p: Params) -> JSONDict:
        chat = self._known_chat(p)
        pinned = self._find_message(chat, chat.pinned) if chat.pinned else None
        return {
            **chat.to_api(),
            **({"pinned_message": pinned.to_api(with_reply=False)} if pinned else {}),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _get_chat_member(self, p: Params) -> JSONDict:
        chat = self._known_chat(p)
        user_id = p.integer("user_id")
        if user_id == self.bot.id:
            return self._bot_member(chat.bot_status)
        user = self.users.get(user_id or 0)
        if user is None:
            raise _bad("user not found")
        return self._member(chat, user)

    def _get_chat_administrators(self, p: Params) -> list[JSONDict]:
        chat = self._known_chat(p)
        if chat.is_private:
            raise _bad("there are no administrators in the private chat")
        people = [
            self.users[i] for i in sorted(chat.admins | {chat.creator or 0}) if i in self.users
        ]
        admins = [self._member(chat, user) for user in people]
        if chat.bot_status == "administrator":
            admins.append(self._bot_member("administrator"))
        return admins

    def _leave_chat(self, p: Params) -> bool:
        chat = self._known_chat(p)
        if chat.is_private:
            raise _bad("chat member status can't be changed in private chats")
        old, chat.bot_status = chat.bot_status, "left"
        self._my_chat_member(chat, self.bot, old, "left")
        return True

    def _set_chat_menu_button(self, p: Params) -> bool:
        button = p.json("menu_button") or {"type": "default"}
        if p.has("chat_id"):
            self._known_chat(p).menu_button = button
        else:
            self._default_menu_button = button
        return True

    def _get_chat_menu_button(self, p: Params) -> JSONDict:
        if p.has("chat_id") and (button := self._known_chat(p).menu_button) is not None:
            return button
        return self._default_menu_button

    # -- the Bot API's rules -------------------------------------------------------------------

    def _known_chat(self, p: Params) -> Chat:
        raw = p.values.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            chat = next((c for c in self.chats.values() if c.username == raw[1:]), None)
        else:
            try:
                chat = self.chats.get(int(str(raw)))
            except ValueError:
                chat = None
        if chat is None:
            raise _bad("chat not found")
        return chat

    def _writable_chat(self, p: Params) -> Chat:
        chat = self._known_chat(p)
        if chat.is_private:
            if chat.bot_status == "kicked":
                raise _forbidden("bot was blocked by the user")
            if not chat.started:
                raise _forbidden("bot can't initiate conversation with a user")
        elif chat.bot_status == "kicked":
            raise _forbidden(f"bot was kicked from the {chat.type} chat")
        elif chat.bot_status == "left":
            raise _forbidden(f"bot is not a member of the {chat.type} chat")
        return chat

    def _postable_chat(self, p: Params) -> Chat:
        """A chat the bot may post a message in now (Telegram's pace counted)."""
        chat = self._writable_chat(p)
        if self.pacing is not None:
            self.pacing.admit(chat, asyncio.get_running_loop().time())
        return chat

    def _formatted(self, p: Params, name: str, limit: int) -> tuple[str, list[JSONDict]]:
        source = p.text(name) or ""
        text, entities = parse_formatted(source, p.text("parse_mode"))
        if not text.strip():
            raise _bad(f"message {name} is empty")
        if _utf16_len(text) > limit:
            raise _bad("message is too long" if name == "text" else "message caption is too long")
        return text, entities

    def _reply_markup(self, p: Params) -> JSONDict | None:
        markup = p.json("reply_markup")
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup  # a reply keyboard, ForceReply or ReplyKeyboardRemove: kept as sent
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
            raise _bad("reply markup is too long")
        for row in rows:
            for button in row:
                _check_inline_button(button)
        return markup

    def _reply_target(self, chat: Chat, p: Params) -> Message | None:
        parameters = p.json("reply_parameters")
        if isinstance(parameters, dict):
            target_id, allow = (
                parameters.get("message_id"),
                parameters.get("allow_sending_without_reply", False),
            )
            if parameters.get("chat_id") not in (None, chat.id, str(chat.id)):
                chat = self._known_chat(Params({"chat_id": parameters["chat_id"]}, {}))
        else:
            target_id, allow = (
                p.integer("reply_to_message_id"),
                p.flag("allow_sending_without_reply"),
            )
        if target_id is None:
            return None
        target = self._find_message(chat, int(target_id))
        if (target is None or target.deleted) and not allow:
            raise _bad("message to be replied not found")
        return target if target is not None and not target.deleted else None

    def _document_from(self, p: Params) -> StoredFile:
        upload = p.upload("document")
        if upload is not None:
            if len(upload.body) > MAX_UPLOAD_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            name = upload.filename or "document"
            mime = upload.content_type or mimetypes.guess_type(name)[0]
            return self._store_file(upload.body, name, mime)
        reference = p.text("document")
        if not reference:
            raise _bad("there is no document in the request")
        if reference in self.files:
            return self.files[reference]
        if reference.startswith(("http://", "https://")):
            raise _bad("failed to get HTTP URL content")  # the fake has no internet to fetch it
        raise _bad("wrong file identifier/HTTP URL specified")

    def _editable(self, p: Params) -> Message:
        if p.has("inline_message_id"):
            raise _bad("the fake Telegram does not support inline messages")
        chat = self._known_chat(p)
        if p.integer("message_id") is None:
            raise _bad("message identifier is not specified")
        message = self._find_message(chat, p.integer("message_id"))
        if message is None or message.deleted:
            raise _bad("message to edit not found")
        if not message.from_bot:
            raise _bad("message can't be edited")
        return message

    def _revise(
        self,
        message: Message,
        content: str | None,
        entities: list[JSONDict],
        markup: JSONDict | None,
        p: Params,
    ) -> None:
        """Edit text or caption, or refuse as Telegram does when nothing would change."""
        if (content, entities, markup) == (message.content, message.entities, message.reply_markup):
            raise _bad(NOT_MODIFIED)
        self._remember(message)
        if message.text is not None:
            message.text = content
        else:
            message.caption = content
        message.entities = entities
        message.source = p.text("text") if message.text is not None else p.text("caption")
        message.parse_mode = p.text("parse_mode")
        message.reply_markup = markup
        self._touched(message, "edited", edit=True)

    def _remember(self, message: Message) -> None:
        message.edits.append(Revision(message.content, message.reply_markup))

    def _bot_posts(self, chat: Chat, p: Params, **fields: Any) -> Message:
        markup = self._reply_markup(p)
        reply_to = self._reply_target(chat, p)
        message = self._add_message(
            chat,
            self.bot,
            from_bot=True,
            reply_markup=markup,
            protect_content=p.flag("protect_content"),
            reply_to=reply_to,
            **fields,
        )
        self._touched(message, "sent")
        return message

    def _command_key(self, p: Params) -> tuple[str, str]:
        return self._scope_key(p.json("scope")), p.text("language_code") or ""

    def _scope_key(self, scope: Mapping[str, Any] | None) -> str:
        """Scopes are told apart by type and by the chat and user they name."""
        scope = scope or {"type": "default"}
        kind = scope.get("type")
        if kind not in _SCOPES:
            raise _bad("wrong scope type specified")
        parts = [str(kind)]
        if kind.startswith("chat"):
            parts.append(str(self._known_chat(Params({"chat_id": scope.get("chat_id")}, {})).id))
        if kind == "chat_member":
            parts.append(str(int(scope.get("user_id") or 0)))
        return ":".join(parts)

    def _member(self, chat: Chat, user: User) -> JSONDict:
        if user.id == chat.creator:
            return {"status": "creator", "user": user.to_api(), "is_anonymous": False}
        if user.id in chat.admins:
            return _administrator(user)
        status = "member" if chat.is_private or user.id in chat.members else "left"
        return {"status": status, "user": user.to_api()}

    def _bot_member(self, status: str) -> JSONDict:
        if status == "administrator":
            return _administrator(self.bot)
        if status == "kicked":
            return {"status": "kicked", "user": self.bot.to_api(), "until_date": 0}
        return {"status": status, "user": self.bot.to_api()}

    # -- bookkeeping ---------------------------------------------------------------------------

    def _add_chat(self, chat: Chat) -> None:
        self.chats[chat.id] = chat
        self._history.setdefault(chat.id, [])

    def _chat(self, chat: Chat | int) -> Chat:
        chat_id = chat.id if isinstance(chat, Chat) else chat
        if chat_id not in self.chats:
            raise KeyError(f"no chat {chat_id}: add_user or add_group first")
        return self.chats[chat_id]

    def _where(self, user: User, chat: Chat | int | None) -> Chat:
        return self._chat(user.id if chat is None else chat)

    def _find_message(self, chat: Chat, message_id: int | None) -> Message | None:
        return next((m for m in self._history[chat.id] if m.message_id == message_id), None)

    def _check_can_write(self, user: User, chat: Chat) -> None:
        if chat.is_private and chat.id != user.id:
            raise AssertionError(f"{user.first_name} cannot write in {chat.first_name}'s chat")
        if not chat.is_private and user.id not in chat.members:
            raise AssertionError(f"{user.first_name} is not a member of group {chat.id}")

    def _person_writes(
        self,
        user: User,
        chat: Chat,
        *,
        reply_to: Message | None = None,
        sender_chat: Chat | None = None,
        text: str | None = None,
        **fields: Any,
    ) -> Message:
        if sender_chat is None:
            self._check_can_write(user, chat)
        if chat.is_private and chat.bot_status == "kicked":
            self.unblock(chat.id)  # writing to a blocked bot means restarting it
        entities = _command_entities(text or "")
        message = self._add_message(
            chat,
            user,
            text=text,
            entities=entities,
            reply_to=reply_to,
            sender_chat=sender_chat,
            **fields,
        )
        message.delivered = self._bot_receives(message)
        if chat.is_private:
            chat.started = True
        self._marks[chat.id] = self._seq
        if message.delivered:
            self._enqueue("message", message.to_api())
        return message

    def _bot_receives(self, message: Message) -> bool:
        """Group privacy mode: without admin rights the bot sees commands and replies to it."""
        chat = message.chat
        if chat.is_private:
            return True
        if chat.bot_status not in ("member", "administrator"):
            return False
        if not self.privacy_mode or chat.bot_status == "administrator":
            return True
        if message.reply_to is not None and message.reply_to.from_bot:
            return True
        command = _COMMAND.match(message.text or "")
        if command is None:
            return False
        _, _, addressee = command.group().partition("@")
        return addressee in ("", self.bot.username)

    def _add_message(self, chat: Chat, sender: User, **fields: Any) -> Message:
        chat.last_message_id += 1
        self._seq += 1
        message = Message(
            chat,
            chat.last_message_id,
            int(self.clock().timestamp()),
            sender,
            changed=self._seq,
            **fields,
        )
        self._history[chat.id].append(message)
        return message

    def _touched(self, message: Message, event: str, *, edit: bool = False) -> None:
        self._seq += 1
        message.changed = self._seq
        if edit:
            message.edit_date = int(self.clock().timestamp())
        if self.on_bot_message is not None:
            self.on_bot_message(message, event)

    def _store_file(self, content: bytes, name: str, mime: str | None) -> StoredFile:
        n = next(self._ids)
        extension = name.rpartition(".")[2] if "." in name else "bin"
        stored = StoredFile(
            f"BQACAgUAAxkBAAI{n:08d}",
            f"AgAD{n:06d}",
            content,
            name,
            mime,
            f"documents/file_{n}.{extension}",
        )
        self.files[stored.file_id] = stored
        return stored

    def _my_chat_member(self, chat: Chat, by: User, old: str, new: str) -> None:
        self._enqueue(
            "my_chat_member",
            {
                "chat": chat.to_api(),
                "from": by.to_api(),
                "date": int(self.clock().timestamp()),
                "old_chat_member": self._bot_member(old),
                "new_chat_member": self._bot_member(new),
            },
        )

    def _enqueue(self, kind: str, payload: JSONDict) -> None:
        self._updates.append({"update_id": next(self._update_ids), kind: payload})
        self._new_update.notify()
        self._activity.notify()

    def _take_fault(self, method: str) -> _Fault | None:
        fault = next((f for f in self._faults if f.method == method.lower()), None)
        if fault is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
        return fault

    async def _pause(self, seconds: float) -> None:
        """Hold an answer back, but let close() cut the wait short."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self._closed and (remaining := deadline - loop.time()) > 0:
            await self._activity.wait(remaining)

    def _recent_errors(self) -> str:
        if not self.errors:
            return "the bot got no error answers"
        lines = [f"  {method} -> {status} {text}" for method, status, text in self.errors[-10:]]
        return "error answers to the bot:\n" + "\n".join(lines)


def _command_entities(text: str) -> list[JSONDict]:
    """The bot_command entities Telegram marks in a person's text."""
    return [
        {"type": "bot_command", "offset": _utf16_len(text[: m.start()]),
         "length": _utf16_len(m.group())}
        for m in _COMMAND.finditer(text)
    ]


def _user_id(user: User | int) -> int:
    return user.id if isinstance(user, User) else user


def _administrator(user: User) -> JSONDict:
    rights = (
        "can_manage_chat can_delete_messages can_manage_video_chats can_restrict_members "
        "can_change_info can_invite_users can_post_stories can_edit_stories "
        "can_delete_stories can_pin_messages"
    )
    return {
        "status": "administrator",
        "user": user.to_api(),
        "can_be_edited": False,
        "is_anonymous": False,
        "can_promote_members": False,
        **dict.fromkeys(rights.split(), True),
    }


def _check_inline_button(button: object) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise _bad("BUTTON_DATA_INVALID")
    elif "url" in button:
        if not re.match(r"^(https?|tg)://\S+$", str(button["url"])):
            raise _bad("BUTTON_URL_INVALID")
    elif not set(button) & {
        "web_app",
        "login_url",
        "switch_inline_query",
        "pay",
        "copy_text",
        "switch_inline_query_current_chat",
        "callback_game",
        "switch_inline_query_chosen_chat",
    }:
        raise _bad(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
