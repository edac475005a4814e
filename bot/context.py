"""The context every handler gets: services, who is acting, and their language."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.i18n import Translator
from bot.services import Services
from bot.text import clean
from storage.models import Division, User

if TYPE_CHECKING:
    IkaApplicationBase = Application[
        ExtBot[None], "IkaContext", dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
    ]
else:
    IkaApplicationBase = Application


class IkaApplication(IkaApplicationBase):
    """PTB's Application, carrying ikabot's services."""

    def __init__(self, *, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services

    async def process_update(self, update: object) -> None:
        """Handle the update, then store what it changed at once, not ``update_interval`` later.

        A conversation's new state and its user_data are marked for the persistence only once
        every handler is done, so this is the first moment they can be written: a kill a moment
        after a tap then loses nothing the tap's answer promised.
        """
        await super().process_update(update)
        if self.persistence is not None:
            await self.update_persistence()


class IkaContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """A handler's context; ``user``, ``division`` and ``t`` are filled in by the identify step."""

    def __init__(self, application: Any, chat_id: int | None = None,
                 user_id: int | None = None) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.user: User | None = None
        self.chat_division: Division | None = None
        self._translator: Translator | None = None

    @property
    def args(self) -> list[str] | None:
        """A command's words, cleaned of NUL and other control characters (bot.text.clean):
        nothing typed after a command reaches the database or a reply uncleaned."""
        return self._args

    @args.setter
    def args(self, words: list[str] | None) -> None:
        self._args = None if words is None else [w for w in map(clean, words) if w]

    @property
    def services(self) -> Services:
        """The application's services."""
        app: IkaApplication = self.application  # type: ignore[assignment]
        return app.services

    @property
    def t(self) -> Translator:
        """The translator for this update's user (in private) or chat (in a group)."""
        return self._translator or self.services.translators.default

    @t.setter
    def t(self, translator: Translator) -> None:
        self._translator = translator
