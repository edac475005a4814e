"""Translations at run time: both languages, dates, country names, and every refusal's message."""

from __future__ import annotations

import builtins
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.countries import ALIASES, NAMES, is_country, named
from bot.domain.case import CaseStatus, Instrument, Level, Phase, Role, Source
from bot.domain.rules import (
    AddNote,
    AnswerExtension,
    CompleteStep,
    Decide,
    Filed,
    MeetingHeld,
    Reason,
    RecordSigning,
    Refused,
    RequestExtension,
    RequestInputs,
    ResumeWait,
    Revise,
    ScheduleNegotiation,
    StartWait,
    SubmitMemo,
    TickInput,
    Withdraw,
    register_case,
)
from bot.domain.sop import WaitParty, load_sop
from bot.i18n import (
    CatalogError,
    Translator,
    Translators,
    catalog_path,
    load_translator,
    load_translators,
    locales_root,
    malay_time,
)
from bot.messages import (
    INSTRUMENT_LABELS,
    LEVEL_LABELS,
    PHASE_LABELS,
    ROLE_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    instrument_label,
    level_label,
    phase_label,
    refusal,
    role_label,
    source_label,
    status_label,
    step_heading,
    step_title,
)
from tests.builders import (
    AB,
    MANAGER,
    MANAGER_2,
    OFFICER,
    act,
    at,
    new_case,
    procedure,
    registered,
    step_through,
)

LOCALES = Path(__file__).resolve().parents[1] / "locales"
KL = ZoneInfo("Asia/Kuala_Lumpur")


@pytest.fixture(scope="module")
def translators() -> Translators:
    return load_translators("ms")


@pytest.fixture(scope="module")
def ms(translators: Translators) -> Translator:
    return translators.get("ms")


@pytest.fixture(scope="module")
def en(translators: Translators) -> Translator:
    return translators.get("en")


def _copy_locales(tmp_path: Path) -> Path:
    """The shipped .po catalogs only (no compiled .mo), in a directory of the test's own."""
    root = tmp_path / "locales"
    shutil.copytree(LOCALES, root, ignore=shutil.ignore_patterns("*.mo"))
    return root


# --- loading --------------------------------------------------------------------------------


def test_both_languages_render(ms: Translator, en: Translator) -> None:
    assert ms.gettext("Top management") == "Pengurusan Tinggi"
    assert ms._("Lead division") == "Bahagian berkaitan"
    assert en.gettext("Top management") == "Top management"
    assert ms.gettext("Step {number}: {title}").format(number=3, title="x") == "Langkah 3: x"


def test_plural_forms(ms: Translator, en: Translator) -> None:
    one = ("Input is still awaited from {names}. Tick it off when it arrives.",
           "Input is still awaited from {count} BJA: {names}. Tick each off when it arrives.")
    assert en.ngettext(*one, 1).startswith("Input is still awaited from {names}")
    assert en.ngettext(*one, 2).startswith("Input is still awaited from {count} BJA")
    assert ms.ngettext(*one, 1).startswith("Input daripada {names}")
    assert ms.ngettext(*one, 3).startswith("Input daripada {count} BJA")


def test_unknown_language_falls_back_to_the_default() -> None:
    translators = load_translators("en")
    assert translators.get("fr").lang == "en"
    assert translators.get(None).lang == "en"
    assert translators.get("MS").lang == "ms"
    assert translators.default.lang == "en"


def test_catalogs_are_found_through_the_locales_package() -> None:
    for lang in ("ms", "en"):
        assert catalog_path(locales_root(), lang).is_file()


def test_po_files_are_compiled_in_memory_so_never_stale(tmp_path: Path) -> None:
    root = _copy_locales(tmp_path)
    po = root / "ms" / "LC_MESSAGES" / "ikabot.po"
    po.write_text(po.read_text(encoding="utf-8").replace(
        'msgstr "Pengurusan Tinggi"', 'msgstr "Pengurusan Atasan"'), encoding="utf-8")
    assert not list(root.rglob("*.mo"))
    assert load_translator("ms", root).gettext("Top management") == "Pengurusan Atasan"


def test_fuzzy_entries_are_not_used(tmp_path: Path) -> None:
    root = _copy_locales(tmp_path)
    po = root / "ms" / "LC_MESSAGES" / "ikabot.po"
    text = po.read_text(encoding="utf-8")
    po.write_text(text.replace('msgid "Top management"', '#, fuzzy\nmsgid "Top management"'),
                  encoding="utf-8")
    assert load_translator("ms", root).gettext("Top management") == "Top management"


def test_a_missing_catalog_is_an_error_not_english(tmp_path: Path) -> None:
    root = _copy_locales(tmp_path)
    (root / "ms" / "LC_MESSAGES" / "ikabot.po").unlink()
    with pytest.raises(CatalogError, match="ms"):
        load_translators("en", root)
    with pytest.raises(CatalogError):
        load_translators("ms", tmp_path / "nowhere")


@pytest.mark.parametrize(
    "content", ["", 'msgid "x"\nfoo bar\n', "<html>Not Found</html>", "\x00\xff garbage"]
)
def test_an_unreadable_catalog_is_an_error(tmp_path: Path, content: str) -> None:
    root = _copy_locales(tmp_path)
    (root / "en" / "LC_MESSAGES" / "ikabot.po").write_text(content, encoding="latin-1")
    with pytest.raises(CatalogError, match="en"):
        load_translators("ms", root)


def test_unknown_default_language_is_refused() -> None:
    with pytest.raises(CatalogError):
        load_translators("fr")


def test_loading_installs_nothing_globally() -> None:
    load_translators("ms")
    assert not hasattr(builtins, "_")


# --- dates and countries --------------------------------------------------------------------


def test_dates_in_malaysian_malay_and_english(ms: Translator, en: Translator) -> None:
    assert ms.format_date(date(2026, 8, 31)) == "31 Ogos 2026"
    assert en.format_date(date(2026, 8, 31)) == "31 August 2026"
    assert ms.format_date(date(2026, 8, 31), format="full") == "Isnin, 31 Ogos 2026"
    assert en.format_date(date(2026, 8, 31), format="short") == "31/08/2026"


def test_datetimes_are_shown_in_the_office_time_zone(ms: Translator, en: Translator) -> None:
    moment = datetime(2026, 8, 31, 9, 0, tzinfo=UTC)  # 17:00 in Kuala Lumpur
    assert ms.format_datetime(moment, KL).startswith("31 Ogos 2026")
    assert ms.format_datetime(moment, KL) == "31 Ogos 2026, 5.00 petang"
    # CLDR puts a narrow no-break space before "pm": it never wraps away from the time
    assert en.format_datetime(moment, KL) == "31 August 2026, 5:00\u202fpm"


@pytest.mark.parametrize(
    ("clock", "written"),
    [(time(9, 0), "9.00 pagi"), (time(17, 0), "5.00 petang"), (time(12, 0), "12.00 tengah hari"),
     (time(12, 45), "12.45 tengah hari"), (time(13, 30), "1.30 petang"),
     (time(18, 59), "6.59 petang"), (time(19, 0), "7.00 malam"), (time(23, 5), "11.05 malam"),
     (time(0, 0), "12.00 tengah malam"), (time(0, 30), "12.30 tengah malam"),
     (time(1, 0), "1.00 pagi"), (time(11, 59), "11.59 pagi")],
)
def test_malay_times_as_official_malay_writes_them(ms: Translator, clock: time,
                                                   written: str) -> None:
    assert malay_time(clock) == written
    moment = datetime.combine(date(2026, 12, 2), clock, tzinfo=KL)
    assert ms.format_time(moment, KL) == written
    assert ms.format_datetime(moment, KL) == f"2 Disember 2026, {written}"


def test_english_times_stay_as_cldr_writes_them(en: Translator) -> None:
    moment = datetime(2026, 12, 2, 9, 0, tzinfo=KL)
    assert en.format_time(moment, KL) == "9:00\u202fam"
    assert en.format_datetime(moment, KL) == "2 December 2026, 9:00\u202fam"


def test_lists_join_in_each_language(ms: Translator, en: Translator) -> None:
    assert ms.format_list(["IMI", "PDRM", "AGC"]) == "IMI, PDRM dan AGC"
    assert en.format_list(["IMI", "PDRM"], style="or") == "IMI or PDRM"


def test_country_names(ms: Translator, en: Translator) -> None:
    assert ms.country_name("MY") == en.country_name("MY") == "Malaysia"
    assert ms.country_name("ID") == en.country_name("id") == "Indonesia"
    assert ms.country_name("JP") == "Jepun" and en.country_name("JP") == "Japan"
    assert ms.country_name("NL") == "Belanda"
    # Malaysia's usage where CLDR's differs
    assert ms.country_name("PS") == "Palestin" and en.country_name("PS") == "Palestine"
    assert ms.country_name("MM") == "Myanmar" and ms.country_name("TR") == "Türkiye"
    assert en.country_name("QQ") == "QQ"


@pytest.mark.parametrize(
    ("typed", "code"),
    [("Jepun", "JP"), ("Japan", "JP"), ("JEPUN", "JP"), ("jep", "JP"), ("Belanda", "NL"),
     ("netherlands", "NL"), ("Cote d'Ivoire", "CI"), ("Côte d’Ivoire", "CI"), ("turkiye", "TR"),
     ("Amerika Syarikat", "US"), ("saudi", "SA"), ("Arab Saudi", "SA"), ("my", "MY")],
)
def test_find_countries_in_malay_or_english(ms: Translator, en: Translator, typed: str,
                                             code: str) -> None:
    assert ms.find_countries(typed)[0] == code
    assert en.find_countries(typed)[0] == code


# Names as officers type them: short and old names, in Malay and in English.
TYPED_COUNTRIES = [
    ("UK", "GB"), ("Britain", "GB"), ("Great Britain", "GB"), ("United Kingdom", "GB"),
    ("USA", "US"), ("US", "US"), ("Amerika", "US"), ("Amerika Syarikat", "US"),
    ("United States", "US"), ("UAE", "AE"), ("Emiriah", "AE"), ("Emiriah Arab Bersatu", "AE"),
    ("United Arab Emirates", "AE"), ("Viet Nam", "VN"), ("Vietnam", "VN"), ("China", "CN"),
    ("Cina", "CN"), ("China (Tanah Besar)", "CN"), ("Korea Selatan", "KR"),
    ("South Korea", "KR"), ("Korea Utara", "KP"), ("Rusia", "RU"), ("Russia", "RU"),
    ("Palestin", "PS"), ("Palestine", "PS"), ("Brunei", "BN"), ("Brunei Darussalam", "BN"),
    ("Laos", "LA"), ("Timor-Leste", "TL"), ("Timor Leste", "TL"), ("Türkiye", "TR"),
    ("Turkiye", "TR"), ("Turki", "TR"), ("Turkey", "TR"),
    # ASEAN members by their Malay names (and their English ones)
    ("Indonesia", "ID"), ("Thailand", "TH"), ("Singapura", "SG"), ("Singapore", "SG"),
    ("Filipina", "PH"), ("Philippines", "PH"), ("Kemboja", "KH"), ("Cambodia", "KH"),
    ("Myanmar", "MM"), ("Burma", "MM"), ("Malaysia", "MY"),
    # an exact name wins over the longer names it is part of ("…and Northern Ireland")
    ("Ireland", "IE"), ("Perancis", "FR"), ("France", "FR"), ("Belanda", "NL"),
    ("Netherlands", "NL"), ("Samoa", "WS"), ("Dominica", "DM"), ("Niger", "NE"),
    ("Georgia", "GE"), ("India", "IN"),
    # Malaysia writes "Republik Czech"
    ("Republik Czech", "CZ"), ("Czech", "CZ"), ("Czech Republic", "CZ"), ("Czechia", "CZ"),
    # dots folded away
    ("U.K.", "GB"), ("U.S.A.", "US"), ("U.S.", "US"),
]


@pytest.mark.parametrize(("typed", "code"), TYPED_COUNTRIES)
@pytest.mark.parametrize("lang", ["ms", "en"])
def test_countries_as_officers_type_them(translators: Translators, lang: str, typed: str,
                                         code: str) -> None:
    found = translators.get(lang).lookup_country(typed)
    assert found.country == code, (typed, found)


@pytest.mark.parametrize(("typed", "code"), TYPED_COUNTRIES)
def test_a_status_filter_finds_every_typed_name_alone(typed: str, code: str) -> None:
    assert named(typed) == [code], typed


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("Guinea", {"GN", "GW", "GQ", "PG"}), ("Korea", {"KR", "KP"}), ("Congo", {"CG", "CD"}),
     ("Sudan", {"SD", "SS"}), ("Samoa Amerika", {"AS"}), ("American Samoa", {"AS"}),
     ("Republik Dominica", {"DO"}), ("Dominican Republic", {"DO"})],
)
def test_a_status_filter_asks_as_intake_does(typed: str, expected: set[str]) -> None:
    assert set(named(typed)) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("Guinea", {"GN", "GW", "GQ", "PG"}), ("Korea", {"KR", "KP"}), ("Congo", {"CG", "CD"}),
     ("Sudan", {"SD", "SS"})],
)
@pytest.mark.parametrize("lang", ["ms", "en"])
def test_a_name_of_several_countries_asks_which(translators: Translators, lang: str,
                                                typed: str, expected: set[str]) -> None:
    found = translators.get(lang).lookup_country(typed)
    assert found.country is None
    assert set(found.choices) == expected
    if typed == "Guinea":
        assert found.choices[0] == "GN"  # the exact name first


@pytest.mark.parametrize(("code", "alias"),
                         [(code, alias) for code, names in ALIASES.items() for alias in names])
def test_every_alias_names_its_country_alone(ms: Translator, code: str, alias: str) -> None:
    assert is_country(code)
    assert ms.lookup_country(alias).country == code


def test_malaysian_names_replace_cldrs_for_real_countries() -> None:
    for names in NAMES.values():
        assert all(is_country(code) for code in names)


def test_malaysia_writes_republik_czech(ms: Translator, en: Translator) -> None:
    assert ms.country_name("CZ") == "Republik Czech" and en.country_name("CZ") == "Czechia"


def test_uk_is_never_ukraine(ms: Translator) -> None:
    assert ms.lookup_country("UK").country == "GB"
    assert ms.lookup_country("uk").country == "GB" and ms.lookup_country("U.K.").country == "GB"
    assert named("UK") == named("uk") == named("U.K.") == ["GB"]
    assert named("Ukraine") == ["UA"] and named("ukr") == []
    assert ms.lookup_country("Ukraine").country == "UA"
    assert ms.lookup_country("Ukraina").suggestions[0] == "UA"


def test_no_match_suggests_the_closest_names(ms: Translator, en: Translator) -> None:
    assert ms.lookup_country("Indonesya").suggestions[0] == "ID"
    assert en.lookup_country("Jepang").suggestions[0] == "JP"
    assert ms.lookup_country("Filipin").country == "PH"  # the start of one name is enough
    nothing = ms.lookup_country("qqqqqq")
    assert nothing.country is None and not nothing.choices and not nothing.suggestions


def test_find_countries_lists_every_match_and_nothing_else(ms: Translator) -> None:
    assert set(ms.find_countries("korea")) == {"KR", "KP"}
    assert ms.find_countries("Korea Selatan") == ["KR"]
    assert ms.find_countries("") == []
    assert ms.find_countries("xyzzy") == []
    assert "EU" not in ms.find_countries("Kesatuan Eropah")
    assert "ZZ" not in ms.find_countries("unknown")


# --- labels and refusals --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "members"),
    [(ROLE_LABELS, Role), (STATUS_LABELS, CaseStatus), (PHASE_LABELS, Phase),
     (SOURCE_LABELS, Source), (LEVEL_LABELS, Level), (INSTRUMENT_LABELS, Instrument)],
)
def test_every_enum_value_has_a_label(table: object, members: type) -> None:
    assert isinstance(table, dict) and set(table) == set(members)


def test_labels_in_both_languages(ms: Translator, en: Translator) -> None:
    assert role_label(Role.MANAGEMENT, ms) == "Pengurusan Tinggi"
    assert role_label(Role.AB, en) == "International Division (AB)"
    assert role_label(Role.AB, ms) == "Bahagian Antarabangsa (AB)"
    assert status_label(CaseStatus.NOT_APPROVED, ms) == "Tidak diluluskan"
    assert phase_label(Phase.AWAITING_DECISION, ms) == "Menunggu keputusan Pengurusan Tinggi"
    assert source_label(Source.KLN, ms) == "Kementerian Luar Negeri (KLN)"
    assert level_label(Level.MULTILATERAL, ms) == "Pelbagai hala"
    assert instrument_label(Instrument.MOU, ms) == "Memorandum Persefahaman (MoU)"
    assert instrument_label(Instrument.TREATY, ms) == "Triti"


def test_step_titles_come_from_the_sop_data(ms: Translator, en: Translator) -> None:
    sop = load_sop()
    step = sop.get("minit_cerai")
    assert step_title(step, ms) == step.title_ms and step_title(step, en) == step.title_en
    assert step_heading(sop, "minit_cerai", ms) == f"Langkah 3: {step.title_ms}"
    assert step_heading(sop, "minit_cerai", en) == f"Step 3: {step.title_en}"


@pytest.fixture(scope="module")
def refusals() -> dict[str, Refused]:
    """A real refusal from the case rules for each reason, with the details they give."""
    proc = procedure()
    now = at(date(2026, 8, 24))
    case = registered(proc, now, received=date(2026, 8, 20))
    inputs = step_through(proc, case, now, "collect_input")
    decision = step_through(proc, case, now, "minit_cerai")
    submitted = act(proc, decision, SubmitMemo(), OFFICER, now)
    tidak = act(proc, submitted, Decide(False), MANAGER, now)
    meeting = step_through(proc, case, now, "prep_meeting")
    negotiation = step_through(proc, case, now, "negotiate")
    withdrawn = act(proc, case, Withdraw("no longer needed"), AB, now)
    asked = act(proc, inputs, RequestInputs(("PDRM", "AGC")), OFFICER, now)
    extended = act(proc, inputs, RequestExtension("collect_input", 3, "AGC"), OFFICER, now)
    answered = act(proc, extended, AnswerExtension("collect_input", 1, False), AB, now)
    own = act(proc, case, RequestExtension("receive", 1, "KLN"), AB, now)
    waiting = act(proc, inputs, StartWait("collect_input", WaitParty.AGC), OFFICER, now)
    every = replace(proc, sop=proc.sop.model_copy(update={
        "policy": proc.sop.policy.model_copy(update={"approvers": "every"})}))
    listed = (MANAGER.user_id, MANAGER_2.user_id)
    voted = act(every, submitted, Decide(True, approvers=listed), MANAGER, now)
    filing = step_through(proc, case, now, "file_copy")
    tries: list[Callable[[], object]] = [
        lambda: act(proc, case, CompleteStep("receive"), OFFICER, now),
        lambda: act(proc, withdrawn, AddNote("hello"), AB, now),
        lambda: act(proc, case, CompleteStep("minit_cerai"), AB, now),
        lambda: act(proc, tidak, Decide(True), MANAGER_2, now),
        lambda: act(proc, decision, Decide(True), MANAGER, now),
        lambda: act(proc, submitted, SubmitMemo(), OFFICER, now),
        lambda: act(proc, submitted, Revise("collect_input"), OFFICER, now),
        lambda: act(proc, asked, CompleteStep("collect_input"), OFFICER, now),
        lambda: act(proc, inputs, CompleteStep("collect_input"), OFFICER, now),
        lambda: act(proc, inputs, RequestInputs(("NOPE",)), OFFICER, now),
        lambda: act(proc, inputs, TickInput("IMI"), OFFICER, now),
        lambda: act(proc, meeting, CompleteStep("prep_meeting"), OFFICER, now),
        lambda: act(proc, meeting, CompleteStep("prep_meeting", MeetingHeld(date(2026, 9, 1))),
                    OFFICER, now),
        lambda: act(proc, meeting, CompleteStep("prep_meeting", MeetingHeld(date(2026, 8, 1))),
                    OFFICER, now),
        lambda: act(proc, negotiation, ScheduleNegotiation(date(2026, 9, 9), date(2026, 9, 7),
                                                           "Jakarta"), OFFICER, now),
        lambda: act(proc, case, AddNote("x" * 5000), AB, now),
        lambda: act(proc, case, AddNote("   "), AB, now),
        lambda: register_case(replace(new_case(), countries=()), actor=AB, now=now,
                              procedure=proc),
        lambda: act(proc, tidak, Revise("receive"), OFFICER, now),
        lambda: act(proc, decision, CompleteStep("minit_cerai"), OFFICER, now),
        # more time, waits and the "every approver" policy
        lambda: act(proc, submitted, RequestExtension("minit_cerai", 3, "x"), OFFICER, now),
        lambda: act(proc, inputs, RequestExtension("collect_input", 99, "x"), OFFICER, now),
        lambda: act(proc, extended, RequestExtension("collect_input", 3, "y"), OFFICER, now),
        lambda: act(proc, own, AnswerExtension("receive", 1, True), AB, now),
        lambda: act(proc, answered, AnswerExtension("collect_input", 1, True), AB, now),
        lambda: act(proc, case, StartWait("receive", WaitParty.KLN), AB, now),
        lambda: act(proc, waiting, StartWait("collect_input", WaitParty.AGC), OFFICER, now),
        lambda: act(proc, inputs, ResumeWait("collect_input"), OFFICER, now),
        lambda: act(every, submitted, Decide(True, approvers=(MANAGER_2.user_id,)), MANAGER,
                    now),
        lambda: act(every, voted, Decide(True, approvers=listed), MANAGER, now),
        # after signing
        lambda: act(proc, filing, CompleteStep("file_copy", Filed(
            "KDN/1", date(2026, 8, 24), date(2026, 8, 21))), AB, now),
        lambda: act(proc, filing, RecordSigning(date(2026, 8, 24)), AB, now),
    ]
    found: dict[str, Refused] = {}
    for attempt in tries:
        with pytest.raises(Refused) as err:
            attempt()
        found.setdefault(err.value.reason.value, err.value)
    return found


@pytest.mark.parametrize("reason", sorted(r.value for r in Reason))
def test_every_refusal_reads_well_in_both_languages(ms: Translator, en: Translator,
                                                   refusals: dict[str, Refused],
                                                   reason: str) -> None:
    assert reason in refusals, f"add a real {reason} refusal to the fixture above"
    refused = refusals[reason]
    sop = load_sop()
    texts = {t.lang: refusal(refused.reason, refused.details, t, sop=sop) for t in (ms, en)}
    for text in texts.values():
        assert text and "{" not in text and "}" not in text
        assert text[0].isupper() or text[0].isdigit()
    assert texts["ms"] != texts["en"]
    generic = refusal("no_such_reason", {}, ms)  # type: ignore[arg-type]
    assert texts["ms"] != generic, f"{reason} has no message of its own in bot/messages.py"
    # without the SOP or any details it still says something sensible
    assert refusal(refused.reason, {}, ms) and "{" not in refusal(refused.reason, {}, ms)


def test_refusals_use_their_details(ms: Translator, en: Translator,
                                    refusals: dict[str, Refused]) -> None:
    sop = load_sop()

    def say(reason: str, t: Translator) -> str:
        return refusal(refusals[reason].reason, refusals[reason].details, t, sop=sop)

    assert "5000" in say("text_too_long", ms) and "2000" in say("text_too_long", ms)
    assert "5000 characters" in say("text_too_long", en)
    assert "Polis Diraja Malaysia dan Jabatan Peguam Negara" in say("inputs_pending", ms)
    assert "Royal Malaysia Police and Attorney General's Chambers" in say("inputs_pending", en)
    assert "Langkah 1" in say("wrong_step", ms) and "Step 1" in say("wrong_step", en)
    assert "1 September 2026" in say("date_in_future", en)
    assert "1 Ogos 2026" in say("date_before_received", ms)
    assert "Ditarik balik" in say("case_closed", ms)
    assert "Nota Diplomatik" not in say("missing_details", ms)
    assert "tarikh mesyuarat" in say("missing_details", ms)
    assert "ditandatangani 24 Ogos 2026 dan berkuat kuasa 21 Ogos 2026" in say(
        "signing_dates_order", ms)
    assert "NOPE" in say("unknown_input", en)
    assert "Jabatan Imigresen Malaysia" in say("input_not_asked", ms)
    assert "Langkah 2" in say("revise_target", ms) and "atau" in say("revise_target", ms)
    assert "Minit Cerai" in say("memo_already_submitted", ms)
    assert "Pengurusan Tinggi" in say("already_decided", ms)


def test_a_reason_without_a_message_still_gets_a_polite_answer(ms: Translator) -> None:
    assert refusal("no_such_reason", {}, ms) == "Maaf, tindakan ini tidak dapat dilakukan sekarang."  # type: ignore[arg-type]
