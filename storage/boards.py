"""The live boards: which message each group chat has pinned, and what it shows."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Board


async def board_of(*, session: AsyncSession, chat_id: int) -> Board | None:
    """The board kept in ``chat_id``, if any."""
    return await session.get(Board, chat_id)


async def keep_board(*, session: AsyncSession, chat_id: int, message_id: int, shown: str,
                     pinned: bool, now: datetime) -> None:
    """Record the board now shown in ``chat_id``, in the caller's transaction."""
    board = await session.get(Board, chat_id)
    if board is None:
        session.add(Board(chat_id=chat_id, message_id=message_id, shown=shown, pinned=pinned,
                          updated_at=now))
        return
    board.message_id, board.shown, board.pinned, board.updated_at = (
        message_id, shown, pinned, now)
    session.add(board)
