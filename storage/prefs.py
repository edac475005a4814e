"""Each user's and each group chat's language."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Division, User


async def set_user_language(*, session: AsyncSession, telegram_id: int, lang: str) -> bool:
    """Set a user's language; False if there is no such user."""
    user = await session.get(User, telegram_id)
    if user is None:
        return False
    user.language = lang
    session.add(user)
    return True


async def set_division_language(*, session: AsyncSession, code: str, lang: str) -> bool:
    """Set the language of a division's group chat; False if there is no such division."""
    division = await session.get(Division, code)
    if division is None:
        return False
    division.language = lang
    session.add(division)
    return True
