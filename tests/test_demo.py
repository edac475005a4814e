"""`ikabot demo` plays a whole case with the real bot, in Malay or English, with no token.

The transcript is read back as a list of turns (a scene, a person's act, a message of the bot)
and checked for its order: a question before its answer, every act answered before the next.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.settings import Settings


@dataclass(frozen=True)
class Turn:
    """One entry of the transcript: "scene", "person" (an act) or "bot" (a message)."""

    kind: str
    where: str  # the chat (or the scene's title)
    text: str


@dataclass(frozen=True)
class Words:
    """What the demo says in one language."""

    finale: tuple[str, ...]
    clock: tuple[str, ...]
    taps: str
    private: str
    groups: tuple[str, str]
    protected: str
    # (the bot's question, the person's answer), in the order the story plays them
    questions: tuple[tuple[str, str], ...]
    tidak: str
    revised: str
    overdue: str
    escalation: str
    moved: str  # what moved step 4's due date, said wherever that date is shown


WORDS = {
    "ms": Words(
        finale=("Langkah 9", "Kes selesai", "Ya: diluluskan oleh KSU",
                "Keputusan Tidak oleh KSU"),
        clock=("(Khamis, 27 Ogos 2026, 10.00 pagi)", "(Khamis, 3 September 2026, 9.00 pagi)"),
        taps="menekan [", private="(peribadi)", groups=("Kumpulan AB", "Kumpulan BKKA"),
        protected="(dilindungi: tidak boleh dimajukan atau disimpan)",
        questions=(("Apakah tajuk instrumen", "MoU kerjasama keselamatan sempadan"),
                   ("Negara manakah rakan rundingannya?", "Indonesia"),
                   ("sila nyatakan sebab", "Sila dapatkan ulasan Jabatan Imigresen"),
                   ("Pada tarikh apakah mesyuarat diadakan?", "1/9/2026"),
                   ("Apakah nombor rujukan Nota Diplomatik?", "KLN.600-1/2/3 (12)"),
                   ("Pada tarikh apakah rundingan bermula?", "03/09/2026"),
                   ("Apakah tarikh hari terakhir rundingan?", "03/09/2026"),
                   ("Di manakah rundingan diadakan?", "Putrajaya"),
                   ("Sila hantar dokumen hasil rundingan", "menghantar fail MOU-ID-MY-final.pdf"),
                   ("Apakah nombor rujukan fail tempat salinan itu difailkan?",
                    "KDN.AB.100-2/3/4 Jld. 5"),
                   ("Pada tarikh apakah instrumen ditandatangani?", "03/09/2026"),
                   ("Pada tarikh apakah instrumen berkuat kuasa", "03/09/2026"),
                   ("Pada tarikh apakah instrumen tamat tempoh", "3/9/2031")),
        tidak="Sebab: Sila dapatkan ulasan Jabatan Imigresen dahulu.",
        revised="Dipinda: pusingan 2 telah bermula.",
        overdue="Telah melepasi tarikh akhir 1 September 2026, 5.00 petang (dianjak kerana Hari "
                "Kebangsaan dan hujung minggu), lewat 2 hari bekerja",
        escalation="Eskalasi: Bahagian Keselamatan dan Ketenteraman Awam belum melaporkan",
        moved="1 September 2026, 5.00 petang (dianjak kerana Hari Kebangsaan dan hujung minggu)",
    ),
    "en": Words(
        finale=("Step 9", "The case is complete", "Ya: approved by KSU",
                "Tidak: not approved by KSU"),
        clock=("(Thursday, 27 August 2026, 10:00\u202fam)",
               "(Thursday, 3 September 2026, 9:00\u202fam)"),
        taps="taps [", private="(private)", groups=("AB group", "BKKA group"),
        protected="(protected: it cannot be forwarded or saved)",
        questions=(("What is the title of the proposed instrument?",
                    "MoU kerjasama keselamatan sempadan"),
                   ("Which country is the counterpart?", "Indonesia"),
                   ("reply with the reason", "Sila dapatkan ulasan Jabatan Imigresen"),
                   ("On what date was the meeting held?", "1/9/2026"),
                   ("What is the reference of the diplomatic note", "KLN.600-1/2/3 (12)"),
                   ("On what date does (or did) the negotiation start?", "03/09/2026"),
                   ("And its last day?", "03/09/2026"),
                   ("Where is (or was) it held?", "Putrajaya"),
                   ("Please send the outcome document", "sends the file MOU-ID-MY-final.pdf"),
                   ("Under what file reference is the copy filed?", "KDN.AB.100-2/3/4 Jld. 5"),
                   ("On what date was the instrument signed?", "03/09/2026"),
                   ("On what date does (or did) it enter into force?", "03/09/2026"),
                   ("On what date does it expire, or is it due for review?", "3/9/2031")),
        tidak="Reason: Sila dapatkan ulasan Jabatan Imigresen dahulu.",
        revised="Revised: round 2 has started.",
        overdue="Overdue since 1 September 2026, 5:00\u202fpm (moved for National Day and the "
                "weekend), 2 working days late",
        escalation="Escalation: the Public Order and Security Division has not reported",
        moved="1 September 2026, 5:00\u202fpm (moved for National Day and the weekend)",
    ),
}


def _play(lang: str, tmp: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items()
           if k.upper() not in {name.upper() for name in Settings.model_fields}}
    result = subprocess.run([sys.executable, "-m", "bot", "demo", "--lang", lang], cwd=tmp,
                            env=env, capture_output=True, text=True, timeout=180, check=False)
    return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="module", params=["ms", "en"])
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> tuple[str, str, Path]:
    """(language, what the demo printed, the directory it ran in)."""
    lang = request.param
    tmp = tmp_path_factory.mktemp(f"demo-{lang}")
    code, out, err = _play(lang, tmp)
    assert code == 0, err[-3000:]
    assert "Traceback" not in out + err
    return lang, out, tmp


_PERSON = re.compile(r"^\[(?P<who>[^\]→]+) → (?P<chat>[^\]]+)\] (?P<text>.*)$")
_BOT = re.compile(r"^  \[bot(?: ✎)? → (?P<chat>[^\]]+)\]$")


def turns(out: str) -> list[Turn]:
    """The transcript as turns; a bot's message keeps its lines (and the tap's answer)."""
    found: list[Turn] = []
    lines: list[str] = []
    where = ""

    def close() -> None:
        if lines:
            found.append(Turn("bot", where, "\n".join(lines)))
            lines.clear()

    for line in out.splitlines():
        if line.startswith("══"):
            close()
            found.append(Turn("scene", line, line))
        elif (person := _PERSON.match(line)) is not None:
            close()
            found.append(Turn("person", person["chat"], person["text"]))
        elif (bot := _BOT.match(line)) is not None:
            close()
            where, lines[:] = bot["chat"], [line.strip()]
        elif line.startswith("    ") and (lines or found):
            if lines:
                lines.append(line.strip())
            else:  # the tap's answer, printed under the act's last message
                last = found[-1]
                found[-1] = Turn(last.kind, last.where, last.text + "\n" + line.strip())
    close()
    return found


def test_the_transcript_parses_into_turns() -> None:
    sample = ("\n══ 1. A ══ (now)\n\n[Aminah → Aminah (private)] /new\n\n"
              "  [bot → Aminah (private)]\n    Hello?\n    [Yes]\n"
              "    (the bot answers the tap: ok)\n\n[Aminah → Aminah (private)] yes\n")
    assert turns(sample) == [
        Turn("scene", "══ 1. A ══ (now)", "══ 1. A ══ (now)"),
        Turn("person", "Aminah (private)", "/new"),
        Turn("bot", "Aminah (private)",
             "[bot → Aminah (private)]\nHello?\n[Yes]\n(the bot answers the tap: ok)"),
        Turn("person", "Aminah (private)", "yes"),
    ]


def test_demo_plays_a_whole_case(demo: tuple[str, str, Path]) -> None:
    lang, out, tmp = demo
    words = WORDS[lang]
    for text in words.finale + words.clock:
        assert text in out
    assert words.protected in out  # the document AB got cannot be forwarded
    assert not list(tmp.iterdir()), "the demo leaves nothing behind"


def test_demo_is_narrated_in_its_language_with_no_raw_values(
        demo: tuple[str, str, Path]) -> None:
    lang, out, _ = demo
    words, other = WORDS[lang], WORDS["en" if lang == "ms" else "ms"]
    assert words.taps in out and other.taps not in out
    assert words.private in out and other.private not in out
    assert all(group in out for group in words.groups)
    assert re.search(r"\b(True|False|None)\b", out) is None, "a Python value in the transcript"
    assert "{" not in out and "}" not in out


def test_every_act_is_answered_before_the_next(demo: tuple[str, str, Path]) -> None:
    _, out, _ = demo
    story = turns(out)
    acts = [i for i, turn in enumerate(story) if turn.kind == "person"]
    assert len(acts) > 30
    for before, after in zip(acts, acts[1:], strict=False):
        between = story[before + 1:after]
        assert any(turn.kind == "bot" for turn in between), (
            f"{story[before]} got no answer before {story[after]}")


def test_each_question_comes_before_its_answer(demo: tuple[str, str, Path]) -> None:
    lang, out, _ = demo
    story = turns(out)
    position = 0
    for question, answer in WORDS[lang].questions:
        asked = next(i for i, turn in enumerate(story)
                     if i >= position and turn.kind == "bot" and question in turn.text)
        answered = next(i for i, turn in enumerate(story)
                        if i > asked and turn.kind == "person" and answer in turn.text)
        # nobody else acts between the question and its answer: it is the answer to it
        assert not [turn for turn in story[asked + 1:answered] if turn.kind == "person"], (
            question, answer)
        assert story[answered].where == story[asked].where  # answered where it was asked
        position = answered


def test_the_story_plays_tidak_revision_ya_and_the_overdue_reminder_in_order(
        demo: tuple[str, str, Path]) -> None:
    lang, out, _ = demo
    words = WORDS[lang]
    story = turns(out)

    def first(text: str, kind: str = "bot", where: str | None = None) -> int:
        return next(i for i, turn in enumerate(story) if turn.kind == kind
                    and text in turn.text and (where is None or turn.where == where))

    ab, lead = words.groups
    tidak, revised = first(words.tidak, where=lead), first(words.revised)
    ya = first(words.finale[2], where=lead)
    overdue, escalation = first(words.overdue, where=lead), first(words.escalation, where=ab)
    done = first(words.finale[1], where=ab)
    assert tidak < revised < ya < overdue < escalation < done
    # the reminder morning is its own scene, and nobody acts until both messages are out
    scene = max(i for i, turn in enumerate(story[:overdue]) if turn.kind == "scene")
    assert words.clock[1] in story[scene].text
    assert not [turn for turn in story[scene:escalation] if turn.kind == "person"]
    # the digest's chart, drawn a moment after its text, is shown in the same scene
    chart = first("🖼", where=ab)
    assert escalation < chart and not [t for t in story[scene:chart] if t.kind == "person"]


def test_a_due_date_a_holiday_moved_says_so_wherever_it_is_shown(
        demo: tuple[str, str, Path]) -> None:
    lang, out, _ = demo
    words = WORDS[lang]
    story = turns(out)
    ab, _ = words.groups
    scene = next(i for i, turn in enumerate(story) if turn.kind == "scene"
                 and words.clock[1] in turn.text)
    to_ab = [turn.text for turn in story[scene:] if turn.kind == "bot" and turn.where == ab]
    assert sum(words.moved in text for text in to_ab[:3]) >= 2  # the board, and the digest
    status = [turn.text for turn in story if turn.kind == "bot" and "IKA-2026-001" in turn.text
              and ("Langkah 9" in turn.text or "Step 9" in turn.text)][-1]
    assert words.moved in status  # /status REF: the step done, as it was due
