"""Seats offered by a workspace admin are taken only with the invitee's consent (issue 13,
defect 8): an admin of one workspace cannot seat a user of another, nor learn that the
email has an account there."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from chatlens.app.db import app_db_url, open_app_db
from chatlens.app.models import Invitation, Seat, User
from tests.serverkit import PASSWORD, LiveServer, provision

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    store = tmp_path_factory.mktemp("invitations") / "chatlens.duckdb"
    seats = provision(
        store,
        {
            "acme": {"users": {"root": ("admin", None, None), "ann": ("agent", "ann", "sales")}},
            # zed is only ever invited (never seated) in acme; yan takes an acme seat: each
            # test has its own person, so the tests hold in any order
            "beta": {"users": {"zed": ("manager", None, None), "yan": ("manager", None, None)}},
        },
    )
    server = LiveServer(store).start()
    yield server, seats, store
    server.stop()


def seats_of(store, email: str) -> list[tuple[str, str]]:
    factory = open_app_db(app_db_url(store))
    with factory() as db:
        user = db.scalar(select(User).where(User.email == email))
        return sorted((s.workspace.name, s.role) for s in user.seats) if user else []


def token_of(answer) -> str:
    return answer.json()["accept_url"].removeprefix("/invitations/")


def test_an_admin_cannot_seat_a_user_of_another_workspace(live):
    server, seats, store = live
    root = server.login(seats.emails["root"])
    zed = seats.emails["zed"]  # manager of beta, nothing in acme
    existing = root.post("/api/v1/users", json={"email": zed, "role": "manager"})
    unknown = root.post(
        "/api/v1/users", json={"email": "nobody@new.example.com", "role": "manager"}
    )
    # the same answer whether the email has an account elsewhere or none at all
    assert existing.status_code == unknown.status_code == 201
    shape = {
        k: v for k, v in existing.json().items() if k not in ("email", "accept_url", "expires_at")
    }
    assert shape == {"status": "invited", "role": "manager", "agent_id": None, "team": None}
    assert set(existing.json()) == set(unknown.json())
    assert token_of(existing) != token_of(unknown)
    # nothing changed for zed: still one seat, plain requests still work
    assert seats_of(store, zed) == [("beta", "manager")]
    assert server.login(zed).get("/api/v1/me").json()["workspace"] == "beta"
    listed = root.get("/api/v1/users").json()
    assert zed not in [u["email"] for u in listed["users"]]
    mine = ("nobody@new.example.com", zed)  # other tests invite others, in any order
    assert sorted(i["email"] for i in listed["invitations"] if i["email"] in mine) == [
        "nobody@new.example.com",
        zed,
    ]


def test_the_invitee_takes_the_seat_with_their_own_password(live):
    server, seats, store = live
    root = server.login(seats.emails["root"])
    yan = seats.emails["yan"]
    offer = {"email": yan, "role": "agent", "agent_id": "yan", "team": "sales"}
    token = token_of(root.post("/api/v1/users", json=offer))
    anyone = server.client()
    wrong = anyone.post(
        "/api/v1/invitations/accept", json={"token": token, "password": "guess guess"}
    )
    assert wrong.status_code == 401
    assert seats_of(store, yan) == [("beta", "manager")]  # a wrong password seats nobody
    taken = anyone.post("/api/v1/invitations/accept", json={"token": token, "password": PASSWORD})
    assert taken.status_code == 200
    assert taken.json() == {"workspace": "acme", "role": "agent", "email": yan}
    assert seats_of(store, yan) == [("acme", "agent"), ("beta", "manager")]
    again = anyone.post("/api/v1/invitations/accept", json={"token": token, "password": PASSWORD})
    assert again.status_code == 404
    assert again.json()["error"]["message"] == (
        "this invitation is unknown, used or expired: ask for a new one"
    )
    # yan now names a workspace; the agent seat reads as agent yan of team sales
    me = server.login(yan).get("/api/v1/me", params={"workspace": "acme"}).json()
    assert (me["role"], me["agent_id"], me["team"]) == ("agent", "yan", "sales")


def test_a_new_email_chooses_its_password_on_the_invitation_page(live):
    server, seats, store = live
    root = server.login(seats.emails["root"])
    email = "cleo@acme.example.com"
    token = token_of(root.post("/api/v1/users", json={"email": email, "role": "manager"}))
    page = server.client().get(f"/invitations/{token}")
    assert page.status_code == 200
    assert "workspace <strong>acme</strong> as <strong>manager</strong>" in page.text
    short = server.client().post(f"/invitations/{token}", data={"password": "short"})
    assert short.status_code == 400
    assert "the password needs at least" in short.text
    done = server.client().post(
        f"/invitations/{token}", data={"password": "cleo's long password"}, follow_redirects=False
    )
    assert (done.status_code, done.headers["location"]) == (303, "/login?next=/overview")
    assert seats_of(store, email) == [("acme", "manager")]
    assert server.login(email, "cleo's long password").get("/api/v1/me").json()["role"] == "manager"
    assert server.client().get(f"/invitations/{token}").status_code == 404  # used


def test_an_expired_invitation_is_refused(live):
    server, seats, store = live
    root = server.login(seats.emails["root"])
    answer = root.post(
        "/api/v1/users",
        json={"email": "late@acme.example.com", "role": "agent", "agent_id": "late"},
    )
    factory = open_app_db(app_db_url(store))
    with factory() as db:
        past = dt.datetime(2020, 1, 1)
        db.execute(
            update(Invitation)
            .where(Invitation.email == "late@acme.example.com")
            .values(expires_at=past)
        )
        db.commit()
    late = server.client().post(
        "/api/v1/invitations/accept", json={"token": token_of(answer), "password": PASSWORD}
    )
    assert late.status_code == 404
    assert seats_of(store, "late@acme.example.com") == []


def test_a_member_seat_changes_at_once(live):
    server, seats, store = live
    root = server.login(seats.emails["root"])
    ann = seats.emails["ann"]
    changed = root.post(
        "/api/v1/users", json={"email": ann, "role": "agent", "agent_id": "ann", "team": "support"}
    )
    assert changed.json() == {
        "status": "seated",
        "email": ann,
        "role": "agent",
        "agent_id": "ann",
        "team": "support",
    }
    factory = open_app_db(app_db_url(store))
    with factory() as db:
        seat = db.scalar(select(Seat).join(User).where(User.email == ann))
        assert seat.team == "support"


def test_the_settings_form_invites_and_shows_the_link_once(live):
    server, seats, _ = live
    root = server.login(seats.emails["root"])
    email = "<i>eve</i>@acme.example.com"  # a valid address, shown as text
    form = {"email": email, "role": "agent", "agent_id": "eve"}
    page = root.post("/settings/users", data=form)
    assert page.status_code == 200
    assert "&lt;i&gt;eve&lt;/i&gt;@acme.example.com is invited" in page.text
    assert "<i>eve</i>" not in page.text
    link = page.text.split('<code id="invitation">')[1].split("</code>")[0]
    assert link.startswith(server.url + "/invitations/")
    again = root.get("/settings")
    assert link not in again.text  # shown once
    assert "&lt;i&gt;eve&lt;/i&gt;@acme.example.com (invited)" in again.text
    invitation = server.client().get(link.removeprefix(server.url))
    assert "for <strong>&lt;i&gt;eve&lt;/i&gt;@acme.example.com</strong>" in invitation.text
