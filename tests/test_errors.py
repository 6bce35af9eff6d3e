"""The one error tree (chatlens/errors.py): each class's status, where the old outsiders
sit, the one did-you-mean helper at the places that report an unknown name, and the app
state's not-found and already-exists errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatlens.app import service
from chatlens.app.db import app_db_url, open_app_db
from chatlens.errors import (
    ChatlensError,
    Conflict,
    EventError,
    FieldError,
    Forbidden,
    InputError,
    ItemError,
    NotFound,
    did_you_mean,
)
from chatlens.events import parse_event
from chatlens.importers import importer_class
from chatlens.importers.mapping_spec import load_mapping
from chatlens.importers.rasa import _EventError
from chatlens.ingest.files import ReadFailure
from chatlens.server.errors import ApiError, SignIn
from chatlens.store.settings import Settings, check_changes, make_settings


def test_each_class_carries_its_status():
    tree = (ChatlensError, InputError, NotFound, Forbidden, Conflict, EventError)
    statuses = {cls.__name__: cls.status for cls in tree}
    assert statuses == {
        "ChatlensError": 500,
        "InputError": 400,
        "NotFound": 404,
        "Forbidden": 403,
        "Conflict": 409,
        "EventError": 422,
    }


def test_the_former_outsiders_sit_in_the_tree():
    item = ItemError("author.type", "unknown author type 'robot'")
    assert isinstance(item, EventError) and item.status == 422
    assert str(item) == "field 'author.type': unknown author type 'robot'"
    assert item.as_dicts() == [{"field": "author.type", "message": "unknown author type 'robot'"}]
    assert (item.field, item.message) == ("author.type", "unknown author type 'robot'")
    assert issubclass(_EventError, ItemError)
    failure = ReadFailure(Path("a.jsonl"), "line 3", "bad\n gzip")
    assert (failure.status, str(failure)) == (
        400,
        "a.jsonl: cannot be read from line 3 on: bad gzip",
    )
    busy = ApiError(429, "too many failed attempts: try again in 5 s")
    assert isinstance(busy, ChatlensError) and (busy.status, busy.code) == (
        429,
        "too_many_requests",
    )
    sign_in = SignIn()
    assert isinstance(sign_in, ApiError) and (sign_in.status, sign_in.code) == (401, "unauthorized")


def test_an_event_error_names_every_field():
    error = EventError([FieldError("ts", "missing"), FieldError("type", "unknown event type 'x'")])
    assert str(error) == "field 'ts': missing; field 'type': unknown event type 'x'"


def test_did_you_mean_offers_up_to_three_close_names():
    assert did_you_mean("csta", ["csat", "aht", "fcr_rate"]) == " (did you mean csat?)"
    assert did_you_mean("zzz", ["csat", "aht"]) == ""
    # teams and steam share 4 of 9 letters (0.89), tram and beam 3 of 8 (0.75); ties go to
    # the later name in sorted order; meet (0.5) is below the 0.6 cutoff
    four = ["beam", "meet", "steam", "teams", "tram"]
    assert did_you_mean("team", four) == " (did you mean teams, steam, tram?)"


def test_an_unknown_setting_source_or_mapping_gets_the_hint():
    with pytest.raises(
        InputError, match=r"^unknown setting 'timezon' \(did you mean timezone\?\); known: "
    ):
        check_changes(Settings(), {"timezon": "UTC"})
    with pytest.raises(InputError) as caught:
        importer_class("chatwot")
    assert str(caught.value) == (
        "unknown source 'chatwot' (did you mean chatwoot?); "
        "one of: chatwoot, rasa, livechat, intercom, mapping"
    )
    with pytest.raises(InputError) as caught:
        load_mapping("ibm-twiter-care")
    assert str(caught.value) == (
        "mapping 'ibm-twiter-care': no such file, nor a shipped mapping "
        "(shipped: ibm-twitter-care, one-row-per-message) (did you mean ibm-twitter-care?)"
    )


@pytest.fixture
def db(tmp_path):
    factory = open_app_db(app_db_url(tmp_path / "chatlens.duckdb"))
    with factory() as session:
        yield session


def test_app_state_answers_not_found_and_already_exists(db, tmp_path):
    store = tmp_path / "chatlens.duckdb"
    service.create_workspace(db, "acme", store)
    with pytest.raises(Conflict, match=r"^workspace 'acme' already exists$"):
        service.create_workspace(db, "acme", store)
    with pytest.raises(NotFound, match=r"^no workspace 'acne' \(workspaces: acme, default\)$"):
        service.get_workspace(db, "acne")
    with pytest.raises(NotFound, match=r"^no API key with id 99$"):
        service.revoke_key(db, 99)
    with pytest.raises(NotFound, match=r"^this invitation is unknown, used or expired"):
        service.accept_invitation(db, "made-up-token", "a long enough password")
    with pytest.raises(InputError) as caught:
        service.create_key(db, "acme", "raed")
    assert str(caught.value) == "unknown scope 'raed' (did you mean read?); expected one of: " + (
        ", ".join(service.SCOPES)
    )


def test_an_unknown_event_type_or_weekday_gets_the_hint():
    with pytest.raises(EventError) as caught:
        parse_event({"type": "mesage", "ts": "2026-11-20T10:00:00Z", "conversation_id": "c1"})
    assert caught.value.as_dicts()[0]["message"].startswith(
        "unknown event type 'mesage' (did you mean message?); expected one of: conversation_started"
    )
    with pytest.raises(InputError) as caught:
        make_settings({"business_hours": {"monday": [["09:00", "17:00"]]}})
    assert str(caught.value) == (
        "setting business_hours: business_hours: 'monday' is not one of "
        "mon, tue, wed, thu, fri, sat, sun (did you mean mon?)"
    )
