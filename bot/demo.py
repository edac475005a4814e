"""`ikabot demo`: the real bot plays a whole case against a loopback fake of Telegram.

AB registers the case, the lead division ticks off the BJA input and raises the Minit Cerai,
two managers get Ya / Tidak cards and one taps Ya, and every step follows to the filed copy.
The conversation is printed as it happens. No token, no network, a temporary SQLite file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.app import build_application, serving
from bot.fake_telegram import FakeTelegram
from bot.fake_telegram.world import Message, User, World
from bot.services import utc_now
from bot.settings import Settings
from storage.db import make_engine, session_factory
from storage.migrate import upgrade
from storage.org import import_org

TOKEN = "4242:DEMO-token-of-the-fake-telegram"
AB_CHAT, LEAD_CHAT = -1005550000001, -1005550000002
AMINAH, CHONG, KSU, TKSU = 501, 502, 503, 504

ORG = """
[[division]]
code = "AB"
kind = "ab"
name_ms = "Bahagian Antarabangsa"
name_en = "International Division"
chat_id = {ab}
language = "{lang}"

[[division]]
code = "BKKA"
kind = "division"
name_ms = "Bahagian Keselamatan dan Ketenteraman Awam"
name_en = "Public Order and Security Division"
chat_id = {lead}
language = "{lang}"

[[division]]
code = "PT"
kind = "management"
name_ms = "Pengurusan Tinggi"
name_en = "Top Management"
language = "{lang}"

[[user]]
telegram_id = {aminah}
name = "Aminah (AB)"
role = "ab"
division = "AB"
language = "{lang}"

[[user]]
telegram_id = {chong}
name = "Chong (BKKA)"
role = "officer"
division = "BKKA"
language = "{lang}"

[[user]]
telegram_id = {ksu}
name = "KSU"
role = "management"
division = "PT"
language = "{lang}"

[[user]]
telegram_id = {tksu}
name = "TKSU"
role = "management"
division = "PT"
language = "{lang}"
"""


class Narrator:
    """Prints the conversation: who said what where, and what the bot answered."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.names: dict[int, str] = {}

    def chat(self, chat_id: int) -> str:
        return self.names.get(chat_id, str(chat_id))

    def person(self, user: User, chat_id: int, what: str) -> None:
        print(f"\n[{user.first_name} → {self.chat(chat_id)}] {what}", file=self.out)

    def bot(self, message: Message, event: str) -> None:
        if event == "deleted":
            return
        verb = "bot ✎" if event == "edited" else "bot"
        print(f"\n  [{verb} → {self.chat(message.chat.id)}]", file=self.out)
        text = message.text or message.caption or ""
        if message.document is not None:
            text = f"📎 {message.document.file_name} (protected: {message.protect_content}) {text}"
        for line in text.splitlines():
            print(f"    {line}", file=self.out)
        for row in message.buttons:
            print("    " + "  ".join(f"[{label}]" for label, _ in row), file=self.out)


class Player:
    """Acts as the people of the demo, waiting each time for the bot's answer."""

    def __init__(self, world: World, narrator: Narrator) -> None:
        self.world, self.narrator = world, narrator

    async def say(self, who: int, text: str, chat: int | None = None) -> None:
        user = self.world.users[who]
        self.narrator.person(user, chat or who, text)
        await self.world.send_text(user, text, chat=chat)
        await self.world.wait_for_message(chat or who)

    async def tap(self, who: int, chat: int, data: Callable[[str], bool]) -> None:
        """Tap the newest button in ``chat`` whose data passes ``data``."""
        def find() -> tuple[Message, str, str] | None:
            for message in reversed(self.world.messages(chat)):
                for row in message.buttons:
                    for label, value in row:
                        if value and data(value):
                            return message, label, value
            return None

        found = await self.world.wait_for(find, timeout=10, what="a button to tap")
        message, label, value = found
        user = self.world.users[who]
        self.narrator.person(user, chat, f"taps [{label}]")
        query = await self.world.tap(user, message, value)
        await self.world.wait_for(lambda: self.world.tap_answer(query) is not None)
        answer = self.world.tap_answer(query)
        if answer is not None and answer.text:
            print(f"    (bot answers the tap: {answer.text})", file=self.narrator.out)

    async def document(self, who: int, name: str, content: bytes) -> None:
        user = self.world.users[who]
        self.narrator.person(user, who, f"sends the file {name}")
        await self.world.send_document(user, name, content, "application/pdf")
        await self.world.wait_for_message(who)


async def play(lang: str, out: TextIO) -> None:
    """Run the bot and play a whole case, printing the conversation to ``out``."""
    with tempfile.TemporaryDirectory(prefix="ikabot-demo-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}"
        org = Path(tmp) / "org.toml"
        org.write_text(ORG.format(ab=AB_CHAT, lead=LEAD_CHAT, lang=lang, aminah=AMINAH,
                                  chong=CHONG, ksu=KSU, tksu=TKSU), encoding="utf-8")
        engine = make_engine(url)
        await upgrade(engine)
        await import_org(org, session_factory=session_factory(engine))
        await engine.dispose()
        narrator = Narrator(out)
        world = World(TOKEN, on_bot_message=narrator.bot)
        async with FakeTelegram(TOKEN, world=world) as tg:
            people = {AMINAH: "Aminah", CHONG: "Chong", KSU: "KSU", TKSU: "TKSU"}
            for uid, name in people.items():
                world.add_user(uid, name, language_code=lang)
                world.chats[uid].started = True
                narrator.names[uid] = f"{name} (private)"
            for chat_id, title in ((AB_CHAT, "AB group"), (LEAD_CHAT, "BKKA group")):
                world.add_group(chat_id, title, members=list(world.users.values()),
                                bot_member=True)
                narrator.names[chat_id] = title
            settings = Settings(
                _env_file=None,
                telegram_bot_token=TOKEN, telegram_base_url=tg.base_url, database_url=url,
                documents_dir=Path(tmp) / "documents", default_language=lang,
                rate_limit_group_per_minute=1000, rate_limit_chat_per_second=1000,
                sweep_interval_seconds=3600,
            )
            async with serving(build_application(settings, clock=utc_now)):
                await _script(Player(world, narrator), ZoneInfo(settings.timezone))


def _is(data: str) -> Callable[[str], bool]:
    return lambda value: value == data


def _ends(suffix: str) -> Callable[[str], bool]:
    return lambda value: value.endswith(suffix)


async def _script(p: Player, tz: ZoneInfo) -> None:
    today = utc_now().astimezone(tz).strftime("%d/%m/%Y")  # the office's date, as typed
    await p.say(AMINAH, "/new")
    await p.say(AMINAH, "MOU on border security cooperation / MoU kerjasama keselamatan sempadan")
    await p.tap(AMINAH, AMINAH, _ends("new_instrument:mou"))
    await p.tap(AMINAH, AMINAH, _ends("new_level:bilateral"))
    await p.say(AMINAH, "Indonesia")
    await p.tap(AMINAH, AMINAH, _ends("new_source:kln"))
    await p.tap(AMINAH, AMINAH, _ends("new_lead:BKKA"))
    await p.tap(AMINAH, AMINAH, _ends("new_received:today"))
    await p.tap(AMINAH, AMINAH, _ends("new_confirm:yes"))
    ref = "IKA-" + today[-4:] + "-001"

    for code in ("PDRM", "AGC"):  # ask for input, then tick it in
        await p.tap(CHONG, LEAD_CHAT, _is(f"in:1:{ref}:{code}"))
        await p.tap(CHONG, LEAD_CHAT, _is(f"in:1:{ref}:{code}"))
    await p.tap(CHONG, LEAD_CHAT, _is(f"st:1:{ref}:collect_input"))
    await p.tap(CHONG, LEAD_CHAT, _is(f"st:1:{ref}:minit_cerai"))
    await p.tap(KSU, KSU, _is(f"ap:1:{ref}:1:y"))

    await p.tap(CHONG, LEAD_CHAT, _is(f"st:1:{ref}:prep_meeting"))
    await p.say(CHONG, today)
    await p.tap(CHONG, LEAD_CHAT, _is(f"st:1:{ref}:inform_ab"))
    await p.tap(AMINAH, AB_CHAT, _is(f"st:1:{ref}:convey_kln"))
    await p.say(AMINAH, "KLN.600-1/2/3 (12)")
    await p.tap(CHONG, LEAD_CHAT, _is(f"st:1:{ref}:negotiate"))
    await p.say(CHONG, today)
    await p.say(CHONG, today)
    await p.say(CHONG, "Putrajaya")
    await p.tap(CHONG, LEAD_CHAT, _is(f"st:1:{ref}:send_outcome"))
    await p.document(CHONG, "MOU-ID-MY-final.pdf", b"%PDF-1.4 the agreed text")
    await p.tap(AMINAH, AB_CHAT, _is(f"st:1:{ref}:file_copy"))
    await p.say(AMINAH, "KDN.AB.100-2/3/4 Jld. 5")
    await p.world.wait_for_message(AB_CHAT)
    await p.say(AMINAH, f"/status {ref}")
