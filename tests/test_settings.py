"""Settings from the environment and .env: defaults, parsing, and bad values refused."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
ENV_NAMES = [name.upper() for name in Settings.model_fields]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ikabot setting from the developer's shell, and no .env but the test's own."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_kdn_putrajaya() -> None:
    settings = Settings()
    assert settings.telegram_bot_token is None
    assert settings.database_url == "sqlite+aiosqlite:///ikabot.db"
    assert settings.timezone == "Asia/Kuala_Lumpur"
    assert (settings.office_start, settings.office_end) == (time(9), time(17))
    assert settings.working_days == "mon,tue,wed,thu,fri"
    assert (settings.holiday_country, settings.holiday_subdivision) == ("MY", "PJY")
    assert settings.count_working_days is False
    assert settings.default_language == "ms"
    assert settings.sop_file is None
    assert settings.documents_dir == Path("documents")


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABC-secret")
    monkeypatch.setenv("TIMEZONE", "Asia/Jakarta")
    monkeypatch.setenv("OFFICE_START", "08:30")
    monkeypatch.setenv("WORKING_DAYS", "Sun, Mon,tue,wed,thu")
    monkeypatch.setenv("COUNT_WORKING_DAYS", "true")
    monkeypatch.setenv("DEFAULT_LANGUAGE", "en")
    monkeypatch.setenv("HOLIDAY_COUNTRY", "none")
    monkeypatch.setenv("HOLIDAY_SUBDIVISION", "")
    settings = Settings()
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == "123456:ABC-secret"
    assert "ABC-secret" not in repr(settings)
    assert settings.timezone == "Asia/Jakarta"
    assert settings.office_start == time(8, 30)
    assert settings.working_days == "sun,mon,tue,wed,thu"
    assert settings.calendar().working_weekdays == frozenset({6, 0, 1, 2, 3})
    assert settings.count_working_days is True
    assert settings.default_language == "en"
    assert settings.holiday_country is None and settings.holiday_subdivision is None


def test_dotenv_file_is_read_and_the_environment_wins(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# a comment\nTELEGRAM_BOT_TOKEN=42:from-dotenv\nTIMEZONE=Asia/Singapore\n"
        "SOP_FILE=my-sop.toml\nDOCUMENTS_DIR=/srv/ikabot/documents\n", encoding="utf-8")
    monkeypatch.setenv("TIMEZONE", "Asia/Kuching")
    settings = Settings()
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == "42:from-dotenv"
    assert settings.timezone == "Asia/Kuching"
    assert settings.sop_file == Path("my-sop.toml")
    assert settings.documents_dir == Path("/srv/ikabot/documents")


@pytest.mark.parametrize(
    ("given", "stored"),
    [("sqlite:///data/ikabot.db", "sqlite+aiosqlite:///data/ikabot.db"),
     ("postgresql://ika:pw@db:5432/ikabot", "postgresql+psycopg://ika:pw@db:5432/ikabot"),
     ("postgres://ika@db/ikabot", "postgresql+psycopg://ika@db/ikabot"),
     ("postgresql+psycopg://ika@db/ikabot", "postgresql+psycopg://ika@db/ikabot")],
)
def test_database_urls_get_the_async_driver(monkeypatch: pytest.MonkeyPatch, given: str,
                                            stored: str) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    assert Settings().database_url == stored


def test_bot_api_urls_derive_from_the_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BASE_URL", "http://127.0.0.1:8081/")
    settings = Settings()
    assert settings.bot_api_url() == "http://127.0.0.1:8081/bot"
    assert settings.bot_file_url() == "http://127.0.0.1:8081/file/bot"


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [("TIMEZONE", "Mars/Olympus_Mons", "timezone"),
     ("TIMEZONE", "../etc/passwd", "timezone"),
     ("OFFICE_START", "25:00", "office_start"),
     ("OFFICE_END", "08:00", None),
     ("WORKING_DAYS", "funday", "working_days"),
     ("WORKING_DAYS", ",", "working_days"),
     ("DEFAULT_LANGUAGE", "fr", "default_language"),
     ("COUNT_WORKING_DAYS", "perhaps", "count_working_days"),
     ("HOLIDAY_COUNTRY", "QQ", None),
     ("HOLIDAY_SUBDIVISION", "XYZ", None),
     ("DATABASE_URL", "mysql://ika@db/ikabot", "database_url"),
     ("DATABASE_URL", "not a url", "database_url")],
)
def test_bad_values_are_refused_naming_the_field(monkeypatch: pytest.MonkeyPatch, name: str,
                                                 value: str, field: str | None) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as err:
        Settings()
    first = err.value.errors()[0]
    assert first["loc"] == ((field,) if field else ())
    if field is None:  # a check across fields names them in its message
        assert name.split("_")[0] in first["msg"]


def test_env_example_documents_every_setting_and_loads_as_the_defaults() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^#?\s*([A-Z][A-Z_]+)=", text, flags=re.MULTILINE))
    assert named == set(ENV_NAMES)
    for name in ENV_NAMES:  # each setting (or pair of settings) has a comment just above it
        assert re.search(rf"#[^\n]*\n(?:[A-Z_]+=[^\n]*\n)?{name}=", text), name
    example = Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    assert example.model_dump(exclude={"telegram_bot_token"}) == Settings().model_dump(
        exclude={"telegram_bot_token"})
