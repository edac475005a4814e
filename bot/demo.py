"""`ikabot demo`: the real bot plays a whole case against a loopback fake of Telegram.

AB registers the case; the lead division asks the BJA for input, ticks it in and raises the
Minit Cerai; the KSU decides Tidak with a reason; the division resubmits and the KSU decides Ya;
the preparation meeting is forgotten until the morning reminder and AB's escalation; then every
step follows to the filed copy. The conversation is printed in the order it happens, narrated in
the chosen language, on a fixed office clock. No token, no network, a temporary SQLite file.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.app import build_application, serving
from bot.fake_telegram import FakeTelegram
from bot.fake_telegram.world import Message, User, World
from bot.i18n import N_, Translator, load_translator
from bot.settings import Settings
from storage.db import make_engine, session_factory
from storage.migrate import upgrade
from storage.org import import_org

TOKEN = "4242:DEMO-token-of-the-fake-telegram"
AB_CHAT, LEAD_CHAT = -1005550000001, -1005550000002
AMINAH, CHONG, KSU, TKSU = 501, 502, 503, 504
KL = ZoneInfo("Asia/Kuala_Lumpur")
# Thursday before the National Day weekend: the steps' due dates move past Hari Kebangsaan.
START = datetime(2026, 8, 27, 10, 0, tzinfo=KL)
# A week later, at the start of office hours: the forgotten meeting is two working days late.
REMINDER_MORNING = datetime(2026, 9, 3, 9, 0, tzinfo=KL)
WAIT = 15.0  # seconds the demo waits for any one answer of the bot before it gives up
QUIET = 0.3  # seconds without a Bot API call after which the bot is taken to have finished

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

SCENES = (
    N_("1. Aminah (AB) registers the case"),
    N_("2. The lead division asks the BJA for input and ticks it in"),
    N_("3. The Minit Cerai: Tidak, with a reason"),
    N_("4. The lead division revises and resubmits; the KSU decides Ya"),
    N_("5. A week later, as the office opens: the reminder and the escalation to AB"),
    N_("6. Every step to the filed copy"),
)


class DemoClock:
    """The office clock of the demo: fixed, and moved on only by the story."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment


class Narrator:
    """Prints the conversation: who said what where, and what the bot answered, in order."""

    def __init__(self, out: TextIO, t: Translator) -> None:
        self.out, self.t = out, t
        self.names: dict[int, str] = {}
        self.events: list[tuple[int, str]] = []
        """(chat, "sent" | "edited") for each message of the bot, as it happens; a picture
        sent is also (chat, "photo")."""

    def chat(self, chat_id: int) -> str:
        return self.names.get(chat_id, str(chat_id))

    def scene(self, title: str, moment: datetime) -> None:
        when = self.t.format_date(moment.date(), format="full") + ", " + self.t.format_time(
            moment, KL)
        print(f"\n══ {self.t.gettext(title)} ══ ({when})", file=self.out)

    def person(self, user: User, chat_id: int, what: str) -> None:
        print(f"\n[{user.first_name} → {self.chat(chat_id)}] {what}", file=self.out)

    def tap_answer(self, text: str) -> None:
        print("    " + self.t.gettext("(the bot answers the tap: {text})").format(text=text),
              file=self.out)

    def bot(self, message: Message, event: str) -> None:
        if event == "deleted":
            return
        self.events.append((message.chat.id, event))
        if message.photo is not None and event == "sent":
            self.events.append((message.chat.id, "photo"))
        verb = "bot ✎" if event == "edited" else "bot"
        print(f"\n  [{verb} → {self.chat(message.chat.id)}]", file=self.out)
        text = message.text or message.caption or ""
        if message.photo is not None:
            text = f"🖼 {text}"
        if message.document is not None:
            name = message.document.file_name or ""
            shown = (self.t.gettext("📎 {name} (protected: it cannot be forwarded or saved)")
                     if message.protect_content else "📎 {name}").format(name=name)
            text = f"{shown}\n{text}"
        for line in text.splitlines():
            print(f"    {line}", file=self.out)
        for row in message.buttons:
            print("    " + "  ".join(f"[{label}]" for label, _ in row), file=self.out)


class Player:
    """Acts as the people of the demo; after each act, waits for all the bot's answers."""

    def __init__(self, world: World, narrator: Narrator) -> None:
        self.world, self.narrator = world, narrator

    async def say(self, who: int, text: str, *, sent: Sequence[int] = (),
                  edited: Sequence[int] = (), chat: int | None = None) -> None:
        """``who`` writes ``text``; the bot's new messages land in ``sent`` (one per entry).

        A group chat is listed once even when it gets two messages: the bot may send them
        together or apart, and the next tap waits for the button it needs anyway.
        """
        user = self.world.users[who]
        start = self._mark()
        self.narrator.person(user, chat or who, text)
        await self.world.send_text(user, text, chat=chat)
        await self._answered(start, sent, edited)

    async def tap(self, who: int, chat: int, data: Callable[[str], bool], *,
                  sent: Sequence[int] = (), edited: Sequence[int] = ()) -> None:
        """Tap the newest button in ``chat`` whose data passes ``data``, as it reads now."""
        def find() -> tuple[Message, str, str] | None:
            for message in reversed(self.world.messages(chat)):
                for row in message.buttons:
                    for label, value in row:
                        if value and data(value):
                            return message, label, value
            return None

        message, label, value = await self.world.wait_for(find, timeout=WAIT,
                                                           what="a button to tap")
        user = self.world.users[who]
        start = self._mark()
        self.narrator.person(user, chat, self.narrator.t.gettext("taps [{label}]").format(
            label=label))
        query = await self.world.tap(user, message, value)
        await self.world.wait_for(lambda: self.world.tap_answer(query) is not None,
                                  timeout=WAIT, what=f"the answer to [{label}]")
        await self._answered(start, sent, edited)
        answer = self.world.tap_answer(query)
        if answer is not None and answer.text:
            self.narrator.tap_answer(answer.text)

    async def document(self, who: int, name: str, content: bytes, *,
                       sent: Sequence[int] = ()) -> None:
        """``who`` sends a file in their private chat."""
        user = self.world.users[who]
        start = self._mark()
        self.narrator.person(user, who, self.narrator.t.gettext("sends the file {name}")
                             .format(name=name))
        await self.world.send_document(user, name, content, "application/pdf")
        await self._answered(start, sent, ())

    async def later(self, sent: Sequence[int], photos: Sequence[int] = ()) -> None:
        """Nobody acts: wait for what the bot sends by itself (the reminders, and the
        pictures that follow them, drawn a moment later)."""
        await self._answered(self._mark(), sent, (), photos)

    def _mark(self) -> int:
        return len(self.narrator.events)

    async def _answered(self, start: int, sent: Sequence[int], edited: Sequence[int],
                        photos: Sequence[int] = ()) -> None:
        """Wait until the bot has sent (and edited) what the act calls for, then falls quiet.

        The messages are awaited as they appear, whichever way the bot sends them (at once, or
        through its outbox a moment later); the quiet wait lets trailing edits print in order.
        """
        def enough() -> bool:
            seen = self.narrator.events[start:]
            return all(seen.count((chat, kind)) >= list(chats).count(chat)
                       for kind, chats in (("sent", sent), ("edited", edited),
                                           ("photo", photos)) for chat in chats)

        await self.world.wait_for(enough, timeout=WAIT,
                                  what=f"the bot's messages to {list(sent)} (edits {list(edited)})")
        await self._quiet()

    async def _quiet(self) -> None:
        calls = -1
        loop = asyncio.get_running_loop()
        give_up = loop.time() + WAIT
        while (calls != len(self.world.requests) or self.world.pending_updates) \
                and loop.time() < give_up:
            calls = len(self.world.requests)
            await asyncio.sleep(QUIET)  # the demo runs on the wall clock; tests never do


async def play(lang: str, out: TextIO) -> None:
    """Run the bot and play a whole case, printing the conversation to ``out``."""
    t = load_translator(lang)
    with tempfile.TemporaryDirectory(prefix="ikabot-demo-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}"
        org = Path(tmp) / "org.toml"
        org.write_text(ORG.format(ab=AB_CHAT, lead=LEAD_CHAT, lang=lang, aminah=AMINAH,
                                  chong=CHONG, ksu=KSU, tksu=TKSU), encoding="utf-8")
        engine = make_engine(url)
        await upgrade(engine)
        await import_org(org, session_factory=session_factory(engine))
        await engine.dispose()
        clock = DemoClock(START)
        narrator = Narrator(out, t)
        world = World(TOKEN, on_bot_message=narrator.bot, clock=clock)
        async with FakeTelegram(TOKEN, world=world) as tg:
            people = {AMINAH: "Aminah", CHONG: "Chong", KSU: "KSU", TKSU: "TKSU"}
            for uid, name in people.items():
                world.add_user(uid, name, language_code=lang)
                world.chats[uid].started = True
                narrator.names[uid] = t.gettext("{name} (private)").format(name=name)
            for chat_id, title in ((AB_CHAT, t.gettext("AB group")),
                                   (LEAD_CHAT, t.gettext("BKKA group"))):
                world.add_group(chat_id, title, members=list(world.users.values()),
                                bot_member=True)
                narrator.names[chat_id] = title
            world.chats[AB_CHAT].bot_status = "administrator"  # AB lets the bot pin its board
            settings = Settings(
                _env_file=None,
                telegram_bot_token=TOKEN, telegram_base_url=tg.base_url, database_url=url,
                documents_dir=Path(tmp) / "documents", default_language=lang,
                # the sweep looks often, so the reminders follow the demo's clock at once
                rate_limit_group_per_minute=1000, rate_limit_chat_per_second=1000,
                sweep_interval_seconds=0.5,
            )
            async with serving(build_application(settings, clock=clock)):
                await _script(Player(world, narrator), narrator, clock)


def _is(data: str) -> Callable[[str], bool]:
    return lambda value: value == data


def _ends(suffix: str) -> Callable[[str], bool]:
    return lambda value: value.endswith(suffix)


async def _script(p: Player, narrator: Narrator, clock: DemoClock) -> None:
    ref = f"IKA-{clock().year}-001"
    scenes = iter(SCENES)

    narrator.scene(next(scenes), clock())
    await p.say(AMINAH, "/new", sent=[AMINAH])
    await p.say(AMINAH, "MoU kerjasama keselamatan sempadan / MoU on border security "
                "cooperation", sent=[AMINAH])
    await p.tap(AMINAH, AMINAH, _ends("new_instrument:mou"), sent=[AMINAH])
    await p.tap(AMINAH, AMINAH, _ends("new_level:bilateral"), sent=[AMINAH])
    await p.say(AMINAH, "Indonesia", sent=[AMINAH, AMINAH])
    await p.tap(AMINAH, AMINAH, _ends("new_source:kln"), sent=[AMINAH])
    await p.tap(AMINAH, AMINAH, _ends("new_lead:BKKA"), sent=[AMINAH])
    await p.tap(AMINAH, AMINAH, _ends("new_received:today"), sent=[AMINAH])
    await p.tap(AMINAH, AMINAH, _ends("new_confirm:yes"), sent=[AMINAH, LEAD_CHAT])

    narrator.scene(next(scenes), clock())
    for code in ("PDRM", "AGC"):  # ask for input, then tick it in
        await p.tap(CHONG, LEAD_CHAT, _is(f"in:1:{ref}:{code}"), edited=[LEAD_CHAT])
        await p.tap(CHONG, LEAD_CHAT, _is(f"in:1:{ref}:{code}"), edited=[LEAD_CHAT])
    await p.tap(CHONG, LEAD_CHAT, _is(f"st:1:{ref}:collect_input"), sent=[LEAD_CHAT])

    narrator.scene(next(scenes), clock())
    await p.tap(CHONG, LEAD_CHAT, _is(f"st:1:{ref}:minit_cerai"), sent=[KSU, TKSU])
    await p.tap(KSU, KSU, _is(f"ap:1:{ref}:1:n"), sent=[KSU, LEAD_CHAT])
    await p.say(KSU, "Sila dapatkan ulasan Jabatan Imigresen dahulu. / Please get the "
                "Immigration Department's comments first.", sent=[KSU])

    narrator.scene(next(scenes), clock())
    await p.tap(CHONG, LEAD_CHAT, _is(f"rv:1:{ref}:minit_cerai"), sent=[LEAD_CHAT])
    await p.tap(CHONG, LEAD_CHAT, _is(f"st:1:{ref}:minit_cerai"), sent=[KSU, TKSU])
    await p.tap(KSU, KSU, _is(f"ap:1:{ref}:2:y"), sent=[LEAD_CHAT])

    clock.moment = REMINDER_MORNING
    narrator.scene(next(scenes), clock())
    await p.later(sent=[LEAD_CHAT, AB_CHAT], photos=[AB_CHAT])  # the digest's chart too

    narrator.scene(next(scenes), clock())
    today = clock().strftime("%d/%m/%Y")  # the office's date, as typed
    await p.tap(CHONG, LEAD_CHAT, _is(f"st:1:{ref}:prep_meeting"), sent=[CHONG])
    await p.say(CHONG, "1/9/2026", sent=[CHONG, LEAD_CHAT])
    await p.tap(CHONG, LEAD_CHAT, _is(f"st:1:{ref}:inform_ab"), sent=[AB_CHAT])
    await p.tap(AMINAH, AB_CHAT, _is(f"st:1:{ref}:convey_kln"), sent=[AMINAH])
    await p.say(AMINAH, "KLN.600-1/2/3 (12)", sent=[AMINAH, LEAD_CHAT])
    await p.tap(CHONG, LEAD_CHAT, _is(f"st:1:{ref}:negotiate"), sent=[CHONG])
    await p.say(CHONG, today, sent=[CHONG])
    await p.say(CHONG, today, sent=[CHONG])
    await p.say(CHONG, "Putrajaya", sent=[CHONG, LEAD_CHAT])
    await p.tap(CHONG, LEAD_CHAT, _is(f"st:1:{ref}:send_outcome"), sent=[CHONG])
    await p.document(CHONG, "MOU-ID-MY-final.pdf", b"%PDF-1.4 the agreed text",
                     sent=[CHONG, AB_CHAT])
    await p.tap(AMINAH, AB_CHAT, _is(f"st:1:{ref}:file_copy"), sent=[AMINAH])
    # filed: the case is complete, then the signed instrument's dates are asked
    await p.say(AMINAH, "KDN.AB.100-2/3/4 Jld. 5", sent=[AMINAH, AMINAH, AB_CHAT, LEAD_CHAT])
    await p.say(AMINAH, today, sent=[AMINAH])
    await p.say(AMINAH, today, sent=[AMINAH])
    await p.say(AMINAH, f"{clock().day}/{clock().month}/{clock().year + 5}", sent=[AMINAH])
    await p.say(AMINAH, f"/status {ref}", sent=[AMINAH])

