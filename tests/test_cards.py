"""How a due date reads on a card: the time as each language writes it, and what moved it."""

from __future__ import annotations

from datetime import date

import pytest

from bot.i18n import Translator, Translators, load_translators
from handlers.cards import due_line
from tests.builders import at, procedure, registered

PROC = procedure()


@pytest.fixture(scope="module")
def translators() -> Translators:
    return load_translators("ms")


@pytest.mark.parametrize(
    ("received", "ms", "en"),
    [
        (date(2026, 8, 28), "Tarikh akhir: 1 September 2026, 5.00 petang "
                            "(dianjak kerana Hari Kebangsaan)",
         "Due: 1 September 2026, 5:00\u202fpm (moved for National Day)"),
        (date(2026, 9, 2), "Tarikh akhir: 7 September 2026, 5.00 petang "
                           "(dianjak kerana hujung minggu)",
         "Due: 7 September 2026, 5:00\u202fpm (moved past the weekend)"),
        (date(2026, 8, 26), "Tarikh akhir: 1 September 2026, 5.00 petang "
                            "(dianjak kerana Hari Kebangsaan dan hujung minggu)",
         "Due: 1 September 2026, 5:00\u202fpm (moved for National Day and the weekend)"),
        (date(2026, 9, 14), "Tarikh akhir: 17 September 2026, 5.00 petang",
         "Due: 17 September 2026, 5:00\u202fpm"),
    ],
)
def test_a_due_date_says_what_moved_it(translators: Translators, received: date, ms: str,
                                       en: str) -> None:
    now = at(received)
    case = registered(PROC, now, received)
    run = case.current_run
    assert run is not None
    assert due_line(run, translators.get("ms"), PROC, now, case) == ms
    assert due_line(run, translators.get("en"), PROC, now, case) == en
    # without the case (the digest's short lines) it is the date alone
    assert due_line(run, translators.get("ms"), PROC, now).endswith("5.00 petang")


@pytest.mark.parametrize(("day", "late"), [(date(2026, 9, 18), "1 working day late"),
                                           (date(2026, 9, 22), "3 working days late")])
def test_lateness_is_a_real_plural(translators: Translators, day: date, late: str) -> None:
    case = registered(PROC, at(date(2026, 9, 14)), date(2026, 9, 14))  # due Thu 17 Sep
    run = case.current_run
    assert run is not None
    en: Translator = translators.get("en")
    assert due_line(run, en, PROC, at(day), case).endswith(" · " + late)
    assert "lewat" in due_line(run, translators.get("ms"), PROC, at(day), case)
