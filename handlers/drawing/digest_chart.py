"""The weekly digest's chart as a PNG: open cases at each step (the late ones in red), and the
median working days each step took this year against the SOP's allowance."""

from __future__ import annotations

import io
import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from bot.domain.sop import Sop
from bot.domain.workload import StepLoad
from bot.i18n import Translator
from bot.messages import step_title
from handlers.drawing.timeline_chart import DPI, LATE, ON_TIME, WIDTH_INCHES

ALLOWANCE = "#9e9e9e"
LABEL_CHARS = 26


def render_digest_chart(loads: Sequence[StepLoad], sop: Sop, t: Translator, year: int) -> bytes:
    """The PNG of ``loads`` (bot.domain.workload.workload), its words in ``t``'s language."""
    figure = Figure(figsize=(WIDTH_INCHES, 2.2 + 0.5 * len(loads)), dpi=DPI,
                    layout="constrained")
    cases, times = figure.subplots(1, 2, sharey=True, width_ratios=(1, 1.2))
    ys = list(range(len(loads)))
    labels = [f"{s.number}. " + textwrap.shorten(step_title(sop.get(s.step), t), LABEL_CHARS,
                                                 placeholder="…") for s in loads]
    on_time = [s.open - s.late for s in loads]
    cases.barh(ys, on_time, color=ON_TIME, label=t.gettext("On time"))
    cases.barh(ys, [s.late for s in loads], left=on_time, color=LATE, label=t.gettext("Late"))
    for y, s in zip(ys, loads, strict=True):
        if s.open:
            cases.annotate(str(s.open), (s.open, y), xytext=(3, 0), textcoords="offset points",
                           va="center", fontsize=9)
    cases.set_yticks(ys, labels, fontsize=9)
    cases.set_ylim(len(loads) - 0.5, -0.5)
    cases.set_title(t.gettext("Open cases at each step"), fontsize=11, loc="left")
    cases.xaxis.get_major_locator().set_params(integer=True)
    cases.set_xlim(0, max([s.open for s in loads] + [1]) * 1.15)
    cases.legend(fontsize=8, loc="lower right", frameon=False)
    height = 0.38
    took = [s.median_took or 0 for s in loads]
    times.barh([y - height / 2 for y in ys], took, height=height, color="#1565c0",
               label=t.gettext("Median this year"))
    times.barh([y + height / 2 for y in ys], [s.allowance for s in loads], height=height,
               color=ALLOWANCE, label=t.gettext("SOP allowance"))
    for y, s in zip(ys, loads, strict=True):
        text = "–" if s.median_took is None else f"{s.median_took:g}"
        times.annotate(text, (took[y], y - height / 2), xytext=(3, 0), textcoords="offset points",
                       va="center", fontsize=8)
    times.set_title(t.gettext("Working days per step, {year}").format(year=year), fontsize=11,
                    loc="left")
    times.margins(x=0.12)
    times.legend(fontsize=8, loc="lower right", frameon=False)
    for axes in (cases, times):
        axes.grid(axis="x", color="#dddddd", linewidth=0.6)
        axes.set_axisbelow(True)
        axes.tick_params(axis="x", labelsize=9)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


# --- the child (handlers.drawing.chart_child draws the chart apart) ---------------------------


def main() -> None:
    """The child: read the request (JSON on stdin), write the PNG (stdout)."""
    from bot.domain.sop import load_sop
    from bot.i18n import load_translators

    request = json.loads(sys.stdin.buffer.read())
    sop = load_sop(Path(request["sop"]) if request["sop"] else None)
    t = load_translators(request["lang"]).get(request["lang"])
    loads = [StepLoad(**load) for load in request["loads"]]
    sys.stdout.buffer.write(render_digest_chart(loads, sop, t, int(request["year"])))


if __name__ == "__main__":
    main()
