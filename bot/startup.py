"""Waiting at start for what the bot cannot serve without: Telegram answering, to its token.

A blip at boot (the network not up yet, Telegram unreachable for a while) is waited out with
backoff, one log line per failure; a token Telegram rejects is said once, without the token,
and ends the start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, RetryAfter
from telegram.request import HTTPXRequest

from bot.settings import Settings

log = logging.getLogger(__name__)

FIRST_WAIT = 1.0  # seconds before the first retry; doubled after each failure
LONGEST_WAIT = 60.0

Sleep = Callable[[float], Awaitable[None]]


class TokenRejected(Exception):
    """Telegram refused the bot token (401 or 404): no retry can help."""


async def wait_for_telegram(settings: Settings, *, sleep: Sleep = asyncio.sleep) -> None:
    """Return once Telegram answers getMe to the token; TokenRejected when it refuses it."""
    assert settings.telegram_bot_token is not None
    token = settings.telegram_bot_token.get_secret_value()
    request = HTTPXRequest()
    bot = Bot(token, base_url=settings.bot_api_url(), base_file_url=settings.bot_file_url(),
              request=request)
    wait = FIRST_WAIT
    try:
        while True:
            try:
                await bot.get_me()
                return
            except InvalidToken:
                # PTB's own message may quote the token: none of it goes any further.
                raise TokenRejected("Telegram rejected the token (TELEGRAM_BOT_TOKEN): check "
                                    "it with @BotFather and set it again") from None
            except RetryAfter as error:
                after = error.retry_after
                seconds = after if isinstance(after, int | float) else after.total_seconds()
                delay = max(float(seconds), wait)
                log.warning("Telegram asks to wait %.0f s before the next try", delay)
            except NetworkError as error:  # TimedOut among them, and a 5xx answer
                delay = wait
                log.warning("Telegram is unreachable (%s: %s); next try in %.0f s",
                            type(error).__name__, error.message, delay)
            await sleep(delay)
            wait = min(wait * 2, LONGEST_WAIT)
    finally:
        await request.shutdown()
