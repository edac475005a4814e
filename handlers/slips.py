"""Target dates watched: a case whose forecast now finishes after its target is warned about
once per slip, through the outbox (AB and the lead division), with the steps holding it back."""

from __future__ import annotations

import logging

from bot.domain.forecast import forecast
from bot.domain.targets import back_on_target, new_slips
from bot.services import Services
from handlers.reports import read_history
from storage.nudges import plan
from storage.reports import (
    case_batches,
    clear_slip,
    mark_slip_warned,
    open_only,
    targets,
    with_target,
)

log = logging.getLogger(__name__)


async def watch_targets(services: Services) -> int:
    """Warn of every new slip past a target; how many were warned."""
    procedure, now = services.procedure, services.now()
    history = await read_history(services.readers, procedure, now=now)
    forecasts = []
    async with services.sessions() as session:
        async for cases in case_batches(session=session,
                                        narrow=lambda s: with_target(open_only(s))):
            forecasts += [fc for case in cases
                          if (fc := forecast(case, history, procedure, now)) is not None]
        found = await targets(session=session, refs=[fc.ref for fc in forecasts])
    slips = new_slips(forecasts, found)
    by_ref = {fc.ref: fc for fc in forecasts}
    for slip in slips:
        # The steps that overrun the SOP's time; with none, those that end past the target.
        causes = slip.causes or tuple(step.key for step in by_ref[slip.ref].steps
                                      if step.late_end > slip.target)
        # The warning and the note that it was given, in one transaction: never twice.
        async with services.sessions() as session, session.begin():
            await mark_slip_warned(session=session, ref=slip.ref, late=slip.late, now=now)
            await plan(session=session, nudges=procedure.planner.slipped(
                slip.ref, slip.late, slip.target, causes, now), now=now)
        log.info("%s: the forecast now passes its target date %s", slip.ref, slip.target)
    for ref in back_on_target(forecasts, found):
        async with services.sessions() as session, session.begin():
            await clear_slip(session=session, ref=ref, now=now)
    return len(slips)
