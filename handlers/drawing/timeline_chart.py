"""A case's timeline as a PNG: a bar per step run, due dates, late parts in red, decisions,
weekends and public holidays shaded; sized to be read on a phone."""

from __future__ import annotations

import io
import math
import textwrap
from datetime import date, timedelta

import matplotlib
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MultipleLocator

from bot.domain.sop import Capture, Sop
from bot.domain.timeline import Bar, Timeline
from bot.i18n import Translator
from bot.messages import step_title

# No display: the Agg backend, chosen before pyplot could ever be imported. Charts here are
# Figure objects drawn on their own canvas, never pyplot's global state, so threads may draw.
matplotlib.use("Agg")

ON_TIME, LATE, OPEN = "#2e7d32", "#c62828", "#1565c0"
WEEKEND, HOLIDAY = "#eeeeee", "#ffe0b2"
WIDTH_INCHES, DPI = 8.0, 150  # 1200 px wide: Telegram keeps photos up to 1280 px
LABEL_CHARS = 28
EPOCH = date(1970, 1, 1)  # matplotlib's day 0


def _label(bar: Bar, sop: Sop, t: Translator, rounds: int) -> str:
    title = textwrap.shorten(step_title(sop.get(bar.step), t), LABEL_CHARS, placeholder="…")
    label = f"{bar.number}. {title}"
    if rounds > 1:
        label += "\n" + t.gettext("(round {n})").format(n=bar.round)
    return label


def _day(day: date) -> float:
    return float(date2num(day))  # type: ignore[no-untyped-call]


def render_timeline(pic: Timeline, sop: Sop, t: Translator) -> bytes:
    """The PNG of ``pic``, its words in ``t``'s language."""
    rows = max(len(pic.bars), 1)
    figure = Figure(figsize=(WIDTH_INCHES, 1.6 + 0.55 * rows), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    holidays = set(pic.holidays)
    for day in pic.days_off:
        axes.axvspan(_day(day), _day(day + timedelta(days=1)), linewidth=0,
                     color=HOLIDAY if day in holidays else WEEKEND, zorder=0)
    rounds = {b.step: sum(x.step == b.step for x in pic.bars) for b in pic.bars}
    labels = []
    for y, bar in enumerate(pic.bars):
        start, end, due_end = bar.start, bar.end + timedelta(days=1), bar.due + timedelta(days=1)
        on_time_end = min(end, due_end)
        colour = OPEN if bar.open else ON_TIME
        if on_time_end > start:
            axes.barh(y, _day(on_time_end) - _day(start), left=_day(start), height=0.6,
                      color=colour, alpha=0.55 if bar.open else 0.9, zorder=2)
        if bar.late:
            late_start = max(start, due_end)
            axes.barh(y, _day(end) - _day(late_start), left=_day(late_start), height=0.6,
                      color=LATE, zorder=2)
        axes.plot([_day(due_end)] * 2, [y - 0.42, y + 0.42], color="black", linewidth=2,
                  zorder=3)
        labels.append(_label(bar, sop, t, rounds[bar.step]))
    decision = sop.step_for(Capture.DECISION).key
    for mark in pic.marks:
        row = next((i for i, b in enumerate(pic.bars)
                    if b.step == decision and b.round == mark.round), None)
        if row is None:
            continue
        axes.plot(_day(mark.day) + 0.5, row, marker="D", color="black", markersize=6, zorder=4)
        # the SOP's own words in every language, as on the approvers' buttons
        axes.annotate("Ya" if mark.approved else "Tidak", (_day(mark.day) + 0.5, row),
                      xytext=(-8, 0), textcoords="offset points", ha="right", va="center",
                      fontsize=10, fontweight="bold", color=ON_TIME if mark.approved else LATE,
                      bbox={"boxstyle": "round,pad=0.2", "facecolor": "white",
                            "edgecolor": "none"}, zorder=4)
    axes.axvline(_day(pic.today) + 0.5, color="#555555", linestyle="--", linewidth=1, zorder=1)
    axes.set_yticks(range(len(labels)), labels, fontsize=9)
    axes.set_ylim(len(labels) - 0.5 if labels else 0.5, -0.6)
    axes.set_xlim(_day(pic.first) - 0.5, _day(pic.last + timedelta(days=2)))
    span = (pic.last - pic.first).days + 2
    axes.xaxis.set_major_locator(MultipleLocator(max(1, math.ceil(span / 7))))
    # Day and month as people write them here ("16 Sep", "3 Okt"), not matplotlib's English.
    axes.xaxis.set_major_formatter(FuncFormatter(
        lambda x, _: t.format_date(EPOCH + timedelta(days=int(round(x))), "d MMM")))
    axes.tick_params(axis="x", labelsize=9)
    axes.grid(axis="x", color="#dddddd", linewidth=0.6, zorder=0)
    # a typed title is text as typed: matplotlib would read "$…$" in it as mathematics
    axes.set_title(textwrap.shorten(f"{pic.ref} · {pic.title}", 70, placeholder="…"),
                   fontsize=12, loc="left", parse_math=False)
    figure.legend(
        handles=[Patch(color=ON_TIME, label=t.gettext("Done on time")),
                 Patch(color=OPEN, alpha=0.55, label=t.gettext("Under way")),
                 Patch(color=LATE, label=t.gettext("Late")),
                 Line2D([], [], color="black", linewidth=2, label=t.gettext("Due date")),
                 Line2D([], [], color="black", marker="D", linewidth=0,
                        label=t.gettext("Decision (Ya/Tidak)")),
                 Patch(color=WEEKEND, label=t.gettext("Weekend")),
                 Patch(color=HOLIDAY, label=t.gettext("Public holiday")),
                 Line2D([], [], color="#555555", linestyle="--", label=t.gettext("Today"))],
        loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
