"""Business hours as teams run them: split shifts, holidays, schedules from a date, DST days,
and the exact place of every mistake in the setting. Times are Europe/Helsinki (UTC+2 in
winter, UTC+3 in summer) unless they end in Z."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.errors import InputError
from chatlens.metrics.business_hours import utc_intervals
from chatlens.store import Store, open_store
from chatlens.store.settings import load_settings, make_settings, save_setting

from .builders import chat
from .conftest import load, report, value, write_jsonl

ZONE = ZoneInfo("Europe/Helsinki")
WEEK = ("mon", "tue", "wed", "thu", "fri")
SPLIT = {day: [["09:00", "12:00"], ["13:00", "17:00"]] for day in WEEK}
FRT = "first_response_time_business_hours"


def local(text: str) -> dt.datetime:
    """A Helsinki wall-clock time ("2026-11-02 11:50") as an aware instant."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZONE)


def z(text: str) -> dt.datetime:
    """A UTC instant ("2026-11-02 09:50")."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def hours(
    setting: Any, first: str, last: str | None = None
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The UTC intervals of the local dates `first` to `last` in Helsinki."""
    day = dt.date.fromisoformat(first)
    return utc_intervals(setting, day, dt.date.fromisoformat(last or first), ZONE)


# --------------------------------------------------------------------------------------
# the setting laid over days (pure)


def test_a_split_shift_is_two_intervals_a_day():
    assert hours(SPLIT, "2026-11-02") == [  # Monday, UTC+2
        (z("2026-11-02 07:00"), z("2026-11-02 10:00")),
        (z("2026-11-02 11:00"), z("2026-11-02 15:00")),
    ]
    assert hours(SPLIT, "2026-11-07", "2026-11-08") == []  # the weekend is closed


def test_a_holiday_is_closed_or_has_its_own_hours():
    setting = {
        "schedules": [{"hours": {day: [["09:00", "17:00"]] for day in WEEK}}],
        "holidays": {"2026-12-24": [["09:00", "12:00"]], "2026-12-25": []},
    }
    assert hours(setting, "2026-12-23", "2026-12-25") == [
        (z("2026-12-23 07:00"), z("2026-12-23 15:00")),  # Wednesday: the week's hours
        (z("2026-12-24 07:00"), z("2026-12-24 10:00")),  # Thursday: short hours
    ]  # Friday the 25th: closed


def test_a_schedule_takes_effect_from_its_date():
    setting = {
        "schedules": [
            {"hours": {day: [["09:00", "17:00"]] for day in (*WEEK, "sat", "sun")}},
            {"from": "2026-06-01", "hours": {"mon": [["08:00", "16:00"]]}},
        ]
    }
    assert hours(setting, "2026-05-31", "2026-06-02") == [
        (z("2026-05-31 06:00"), z("2026-05-31 14:00")),  # Sunday: the first schedule (UTC+3)
        (z("2026-06-01 05:00"), z("2026-06-01 13:00")),  # Monday: the second one
    ]  # Tuesday: the second schedule has no Tuesday
    later = {"schedules": [{"from": "2026-06-01", "hours": {"sun": [["09:00", "17:00"]]}}]}
    assert hours(later, "2026-05-31") == []  # before the first schedule nothing is open
    assert hours(later, "2026-06-07") == [(z("2026-06-07 06:00"), z("2026-06-07 14:00"))]


def test_dst_days_in_helsinki_are_as_long_as_the_clock_runs():
    whole = {"sun": [["00:00", "24:00"]]}
    # 29 March: 03:00 EET jumps to 04:00 EEST (01:00Z): a day of 23 hours
    assert hours(whole, "2026-03-29") == [(z("2026-03-28 22:00"), z("2026-03-29 21:00"))]
    # an interval inside the skipped hour opens nothing; one across it loses that hour
    assert hours({"sun": [["03:00", "03:30"]]}, "2026-03-29") == []
    assert hours({"sun": [["02:30", "04:30"]]}, "2026-03-29") == [
        (z("2026-03-29 00:30"), z("2026-03-29 01:30"))
    ]
    # 25 October: 04:00 EEST falls back to 03:00 EET (01:00Z): 25 hours, 03:xx shown twice
    assert hours(whole, "2026-10-25") == [(z("2026-10-24 21:00"), z("2026-10-25 22:00"))]
    assert hours({"sun": [["03:00", "03:30"]]}, "2026-10-25") == [
        (z("2026-10-25 00:00"), z("2026-10-25 00:30")),
        (z("2026-10-25 01:00"), z("2026-10-25 01:30")),
    ]


def test_a_night_shift_ends_at_24_00_and_goes_on_after_midnight():
    setting = {"fri": [["22:00", "24:00"]], "sat": [["00:00", "02:00"]]}
    assert hours(setting, "2026-11-06", "2026-11-07") == [
        (z("2026-11-06 20:00"), z("2026-11-07 00:00"))  # touching pieces join
    ]


# --------------------------------------------------------------------------------------
# the setting's shape


def test_the_first_one_interval_form_still_reads_as_one_schedule():
    old = make_settings({"business_hours": {"mon": ["09:00", "17:00"], "fri": ["10:00", "24:00"]}})
    assert old.business_hours == {
        "schedules": [{"hours": {"mon": [["09:00", "17:00"]], "fri": [["10:00", "24:00"]]}}],
        "holidays": {},
    }
    assert make_settings({"business_hours": {}}).business_hours is None
    full = {
        "schedules": [
            {"hours": {"tue": [["13:00", "17:00"]], "mon": [["09:00", "12:00"]]}},
            {"from": "2026-06-01", "hours": {"wed": ["08:00", "16:00"], "thu": []}},
        ],
        "holidays": {"2026-12-25": [], "2026-12-24": ["09:00", "12:00"]},
    }
    stored = make_settings({"business_hours": full}).business_hours
    assert make_settings({"business_hours": stored}).business_hours == stored  # read back as is
    assert stored == {  # one stored form
        "schedules": [
            {"hours": {"mon": [["09:00", "12:00"]], "tue": [["13:00", "17:00"]]}},
            {"from": "2026-06-01", "hours": {"wed": [["08:00", "16:00"]]}},
        ],
        "holidays": {"2026-12-24": [["09:00", "12:00"]], "2026-12-25": []},
    }


P = "setting business_hours: business_hours"
SCHEDULE = {"hours": {"mon": [["09:00", "12:00"]]}}
BAD: list[tuple[Any, str]] = [
    (
        {"schedules": [SCHEDULE, {"from": "2026-06-01", "hours": {"tue": [["13:00", "12:00"]]}}]},
        f"{P}.schedules[1].hours.tue[0]: start 13:00 is not before end 12:00",
    ),
    (
        {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]},
        f"{P}.mon[1]: 11:00-13:00 starts before business_hours.mon[0] ends at 12:00",
    ),
    (
        {"mon": [["13:00", "17:00"], ["09:00", "12:00"]]},
        f"{P}.mon[1]: 09:00-12:00 starts before business_hours.mon[0] ends at 17:00",
    ),
    ({"mon": ["24:00", "24:00"]}, f"{P}.mon: start 24:00 is not before end 24:00"),
    ({"mon": [["9:00", "17:00"]]}, f"{P}.mon[0]: '9:00' is not a time HH:MM from 00:00 to 24:00"),
    ({"mon": [["09:00", "24:30"]]}, f"{P}.mon[0]: '24:30' is not a time HH:MM"),
    ({"mon": [["09:00"]]}, f"""{P}.mon[0]: expected ["HH:MM", "HH:MM"], got ['09:00']"""),
    ({"mon": "9-17"}, f"{P}.mon: expected a list of intervals such as"),
    ({"monday": [["09:00", "17:00"]]}, f"{P}: 'monday' is not one of mon, tue, wed"),
    (["09:00", "17:00"], f"{P}: expected an object such as"),
    ({"schedules": []}, f"{P}.schedules: expected a non-empty list"),
    ({"holidays": {"2026-12-25": []}}, f"{P}.schedules: missing"),
    ({"schedules": [SCHEDULE], "mon": []}, f"{P}: unknown key 'mon' next to schedules/holidays"),
    ({"schedules": [{"mon": [["09:00", "12:00"]]}]}, f"{P}.schedules[0]: expected {{"),
    ({"schedules": [{**SCHEDULE, "to": "2027-01-01"}]}, f"{P}.schedules[0]: unknown key 'to'"),
    ({"schedules": [SCHEDULE, SCHEDULE]}, f'{P}.schedules[1]: "from" is needed on every'),
    (
        {"schedules": [{"from": "2026-06-01", **SCHEDULE}, {"from": "2026-05-01", **SCHEDULE}]},
        f"{P}.schedules[1].from: 2026-05-01 is not after schedules[0].from 2026-06-01",
    ),
    (
        {"schedules": [{"from": "1.6.2026", **SCHEDULE}]},
        f"{P}.schedules[0].from: '1.6.2026' is not a date YYYY-MM-DD",
    ),
    (
        {"schedules": [SCHEDULE], "holidays": {"2026-02-30": []}},
        f"{P}.holidays: '2026-02-30' is not a date",
    ),
    ({"schedules": [SCHEDULE], "holidays": []}, f"{P}.holidays: expected an object such as"),
    (
        {"schedules": [SCHEDULE], "holidays": {"2026-12-24": [["12:00", "09:00"]]}},
        f"{P}.holidays.2026-12-24[0]: start 12:00 is not before end 09:00",
    ),
]


@pytest.mark.parametrize(("setting", "message"), BAD)
def test_each_mistake_is_named_by_its_place(setting, message):
    with pytest.raises(InputError) as caught:
        make_settings({"business_hours": setting})
    assert message in str(caught.value)


# --------------------------------------------------------------------------------------
# the business-hours variants computed from events


def agent_chat(cid: str, asked: str, answered: str) -> list[dict[str, Any]]:
    """A chat that enters the queue at `asked` and gets its first agent reply at `answered`
    (Helsinki wall-clock times)."""
    start, reply = local(asked), local(answered)
    seconds = (reply - start).total_seconds()
    return chat(cid, start, agent="ann", pickup_after=seconds / 2, reply_after=seconds)


def test_frt_in_business_hours_on_a_split_shift(store: Store, tmp_path: Path):
    load(
        store,
        agent_chat("lunch", "2026-11-02 11:50", "2026-11-02 13:10")  # 10 + 10 min open
        + agent_chat("early", "2026-11-03 08:00", "2026-11-03 09:30")  # 30 min after opening
        + agent_chat("night", "2026-11-03 18:00", "2026-11-04 09:05"),  # 5 min next morning
        tmp_path,
    )
    save_setting(store.con, "timezone", "Europe/Helsinki")
    assert value(store, FRT) is None  # no business hours: no business-hours variant
    save_setting(store.con, "business_hours", SPLIT)
    rows = report(store, [FRT, f"{FRT}_median", "first_response_time"]).rows
    assert rows[0][FRT] == (1200 + 1800 + 300) / 3
    assert rows[0][f"{FRT}_median"] == 1200
    assert rows[0]["first_response_time"] == (4800 + 5400 + 15 * 3600 + 300) / 3
    # picked up halfway: at 12:30 (10 min inside), 08:45 (none), 01:32:30 (none)
    assert value(store, "wait_time_business_hours") == (600 + 0 + 0) / 3


def test_holidays_closed_and_short_in_the_figures(store: Store, tmp_path: Path):
    load(
        store,
        agent_chat("tue", "2025-12-23 11:30", "2025-12-23 13:10")  # 100 min, all open
        + agent_chat("eve", "2025-12-24 11:30", "2025-12-24 13:10")  # open until 12:00
        + agent_chat("xmas", "2025-12-25 10:00", "2025-12-25 10:20"),  # closed
        tmp_path,
    )
    save_setting(store.con, "timezone", "Europe/Helsinki")
    week = {day: [["09:00", "17:00"]] for day in WEEK}
    save_setting(store.con, "business_hours", week)
    days = report(store, FRT, "2025-12-23", "2025-12-25", grain="day").rows
    assert [r[FRT] for r in days] == [6000, 6000, 1200]  # a plain week: every day open
    holidays = {"2025-12-24": [["09:00", "12:00"]], "2025-12-25": []}
    save_setting(
        store.con, "business_hours", {"schedules": [{"hours": week}], "holidays": holidays}
    )
    days = report(store, FRT, "2025-12-23", "2025-12-25", grain="day").rows
    assert [r[FRT] for r in days] == [6000, 1800, 0]


def test_a_schedule_from_a_date_leaves_the_days_before_it_alone(store: Store, tmp_path: Path):
    load(
        store,
        agent_chat("before", "2026-11-09 09:30", "2026-11-09 10:30")
        + agent_chat("after", "2026-11-16 09:30", "2026-11-16 10:30"),
        tmp_path,
    )
    save_setting(store.con, "timezone", "Europe/Helsinki")
    nine = {day: [["09:00", "17:00"]] for day in WEEK}
    ten = {day: [["10:00", "18:00"]] for day in WEEK}
    save_setting(store.con, "business_hours", nine)
    first_half, second_half = ("2026-11-01", "2026-11-15"), ("2026-11-16", "2026-11-30")
    assert (value(store, FRT, *first_half), value(store, FRT, *second_half)) == (3600, 3600)
    change = {"schedules": [{"hours": nine}, {"from": "2026-11-16", "hours": ten}]}
    save_setting(store.con, "business_hours", change)
    assert (value(store, FRT, *first_half), value(store, FRT, *second_half)) == (3600, 1800)
    assert value(store, FRT) == (3600 + 1800) / 2
    # applied when computed: the later schedule alone makes history follow it too
    save_setting(store.con, "business_hours", {"schedules": [{"hours": ten}]})
    assert (value(store, FRT, *first_half), value(store, FRT, *second_half)) == (1800, 1800)


def test_frt_in_business_hours_across_dst_changes(store: Store, tmp_path: Path):
    load(
        store,
        # 01:30 EET (23:30Z) to 05:30 EEST (02:30Z): 3 real hours, open 02:00-05:00 on the
        # wall = 00:00Z-02:00Z, 2 real hours
        agent_chat("spring", "2026-03-29 01:30", "2026-03-29 05:30")
        # 02:30 EEST (23:30Z) to 05:30 EET (03:30Z): 4 real hours; open 02:00-05:00 on the
        # wall = 23:00Z-03:00Z, of which 23:30Z-03:00Z is the chat's: 3.5 hours
        + agent_chat("autumn", "2026-10-25 02:30", "2026-10-25 05:30"),
        tmp_path,
    )
    save_setting(store.con, "timezone", "Europe/Helsinki")
    save_setting(store.con, "business_hours", {"sun": [["02:00", "05:00"]]})
    assert value(store, "first_response_time", "2026-03-29", "2026-03-29") == 3 * 3600
    assert value(store, FRT, "2026-03-29", "2026-03-29") == 2 * 3600
    assert value(store, "first_response_time", "2026-10-25", "2026-10-25") == 4 * 3600
    assert value(store, FRT, "2026-10-25", "2026-10-25") == 3.5 * 3600


def test_a_stored_setting_of_the_first_form_keeps_its_figures(store: Store, tmp_path: Path):
    load(store, agent_chat("lunch", "2026-11-02 11:50", "2026-11-02 13:10"), tmp_path)
    save_setting(store.con, "timezone", "Europe/Helsinki")
    store.con.execute(  # as an older chatlens stored it
        "INSERT OR REPLACE INTO settings VALUES ('business_hours', ?)",
        [orjson.dumps({"mon": ["09:00", "17:00"]}).decode()],
    )
    assert load_settings(store.con).business_hours == {
        "schedules": [{"hours": {"mon": [["09:00", "17:00"]]}}],
        "holidays": {},
    }
    assert value(store, FRT) == 4800


# --------------------------------------------------------------------------------------
# the CLI


runner = CliRunner()


def test_cli_settings_set_business_hours(tmp_path: Path):
    events = agent_chat("lunch", "2026-11-02 11:50", "2026-11-02 13:10")
    db = str(tmp_path / "c.duckdb")
    imported = runner.invoke(
        app, ["import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", db]
    )
    assert imported.exit_code == 0, imported.output
    assert (
        runner.invoke(app, ["settings", "set", "timezone", "Europe/Helsinki", "--db", db]).exit_code
        == 0
    )
    for setting, message in BAD[:2]:
        result = runner.invoke(
            app, ["settings", "set", "business_hours", orjson.dumps(setting).decode(), "--db", db]
        )
        assert result.exit_code == 2, result.output
        assert message in result.output.replace("\n", " "), result.output
    split = orjson.dumps({"schedules": [{"hours": SPLIT}]}).decode()
    assert (
        runner.invoke(app, ["settings", "set", "business_hours", split, "--db", db]).exit_code == 0
    )
    with open_store(Path(db)) as stored:
        assert load_settings(stored.con).business_hours == {
            "schedules": [{"hours": SPLIT}],
            "holidays": {},
        }
    out = runner.invoke(
        app,
        [
            "report",
            "--from",
            "2026-11-02",
            "--to",
            "2026-11-02",
            "--metrics",
            FRT,
            "--format",
            "json",
            "--db",
            db,
        ],
    )
    assert out.exit_code == 0, out.output
    assert orjson.loads(out.output)["rows"][0][FRT] == 1200  # 11:50-12:00, 13:00-13:10
