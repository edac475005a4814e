"""Telegram's sending limits, kept per chat: a 429 for one chat holds back that chat only.

Telegram allows about 30 messages a second overall, 20 a minute in a group and one a second in
any one chat, and answers 429 with ``retry_after`` when a bot goes faster. PTB's
AIORateLimiter keeps the first two but pauses every request while it waits out any chat's 429;
this limiter keeps all three and waits out a 429 in the chat that earned it, so the other chats
go on. Each limit is a sliding window (at most N in any period), as Telegram counts: a leaky
bucket (aiolimiter's, PTB's) lets a full bucket and a period's leak through in the first
period, twice the limit, which Telegram answers with 429.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

JSON = bool | dict[str, Any] | list[dict[str, Any]]
# The methods that post a message in a chat: these are what Telegram's limits count.
_POSTING = ("send", "copymessage", "forwardmessage")


@dataclass(frozen=True)
class Pace:
    """What a sender asks of the limiter for one request (PTB's ``rate_limit_args``)."""

    retries: int | None = None  # how often to wait out a 429 (None: the configured number)
    turn: int = 0  # the message's place in its chat's queue: lower turns go first


NO_RETRY = Pace(retries=0)  # a 429 comes straight back, so that only that chat waits
MARGIN = 1.01  # each window a hair longer than Telegram's, for the clocks' grain


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Window:
    """At most ``limit`` requests in any ``period`` seconds, first come first served.

    A request holds its place from the moment it is let go until it is answered, and is
    counted from its answer: Telegram counted it somewhere in between, so the window can never
    close later at Telegram than here, however long the request took.
    """

    def __init__(self, limit: int, period: float) -> None:
        self.limit, self.period = max(1, limit), period * MARGIN
        self._places: list[list[float]] = []  # [when it was answered]; inf while under way
        self._queue: list[tuple[int, int]] = []  # waiting requests: (turn, arrival)
        self._seq = itertools.count()
        self._changed = asyncio.Condition()

    async def acquire(self, turn: int = 0) -> list[float]:
        """Wait until one more request fits; its place, to ``done`` later.

        The lowest ``turn`` goes first, then the earliest come: a chat's second message waits
        while any chat's first one is waiting.
        """
        entry = (turn, next(self._seq))
        async with self._changed:
            heapq.heappush(self._queue, entry)
            self._changed.notify_all()
            try:
                while True:
                    wait = self._wait()
                    if self._queue[0] == entry and wait <= 0:
                        heapq.heappop(self._queue)
                        self._changed.notify_all()
                        return self.take()
                    with contextlib.suppress(TimeoutError):  # the window has room again
                        await asyncio.wait_for(self._changed.wait(),
                                               wait if self._queue[0] == entry else None)
            except BaseException:
                if entry in self._queue:
                    self._queue.remove(entry)
                    heapq.heapify(self._queue)
                    self._changed.notify_all()
                raise

    def _wait(self) -> float:
        """Seconds until one more request fits (0 when it fits now)."""
        now = asyncio.get_running_loop().time()
        self._places = [p for p in self._places if p[0] > now - self.period]
        if len(self._places) < self.limit:
            return 0.0
        return max(0.01, min(p[0] for p in self._places) + self.period - now)

    async def room(self) -> None:
        """Wait until one more request would fit (without taking the place)."""
        while (wait := self._wait()) > 0:
            await asyncio.sleep(wait)

    def take(self) -> list[float]:
        """Take a place now, for a request under way."""
        place = [float("inf")]
        self._places.append(place)
        return place


def done(place: list[float]) -> None:
    """The request that holds ``place`` was answered now: its window runs from here."""
    place[0] = asyncio.get_running_loop().time()


class TelegramPace(BaseRateLimiter[Pace]):
    """Overall, per-group and per-chat pace; ``rate_limit_args`` a Pace."""

    def __init__(self, *, per_second: float, group_per_minute: float,
                 chat_per_second: float, max_retries: int) -> None:
        self.overall = Window(int(per_second), 1.0)
        self.group_per_minute, self.chat_per_second = group_per_minute, chat_per_second
        self.max_retries = max_retries
        self._chats: dict[int | str, Window] = {}
        self._groups: dict[int | str, Window] = {}
        self._held: dict[int | str, float] = {}  # chat -> loop time its 429 ends

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def held_until(self, chat_id: int | str) -> float:
        """The loop time until which Telegram asked not to write to ``chat_id``."""
        return self._held.get(chat_id, 0.0)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Pace | None,
    ) -> JSON:
        """Run one Bot API request within the limits that apply to it."""
        chat_id = data.get("chat_id")
        if chat_id is None or not endpoint.lower().startswith(_POSTING):
            return await callback(*args, **kwargs)
        pace = rate_limit_args or Pace()
        retries = self.max_retries if pace.retries is None else pace.retries
        key: int | str = int(chat_id) if str(chat_id).lstrip("-").isdigit() else str(chat_id)
        for attempt in range(retries + 1):
            await self._wait_out(key)
            async with self._limiters(key, pace.turn):
                try:
                    return await callback(*args, **kwargs)
                except RetryAfter as error:
                    wait = _seconds(error.retry_after)
                    self._held[key] = asyncio.get_running_loop().time() + wait
                    log.info("Telegram asked to wait %.0f s before writing to chat %s", wait, key)
                    if attempt == retries:
                        raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _wait_out(self, key: int | str) -> None:
        delay = self._held.get(key, 0.0) - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)

    def _limiters(self, key: int | str, turn: int) -> _Limits:
        chat = self._chats.get(key)
        if chat is None:
            chat = self._chats[key] = Window(1, 1 / self.chat_per_second)
        group = None
        if isinstance(key, str) or key < 0:  # a group (or channel)
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = Window(int(self.group_per_minute), 60.0)
        return _Limits(self.overall, chat, group, turn)


class _Limits:
    """The windows one request passes: its chat's and its group's, then the overall one in
    turn; it holds a place in each until it is answered."""

    def __init__(self, overall: Window, chat: Window, group: Window | None, turn: int) -> None:
        self.overall, self.turn = overall, turn
        self.own = [b for b in (chat, group) if b is not None]
        self.places: list[list[float]] = []

    async def __aenter__(self) -> None:
        for window in self.own:
            await window.room()
        self.places = [await self.overall.acquire(self.turn), *(w.take() for w in self.own)]

    async def __aexit__(self, *exc: object) -> None:
        for place in self.places:
            done(place)
