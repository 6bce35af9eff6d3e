"""Sharing a dashboard with one team, over real HTTP: a manager shares with their own team,
whose agents see it and other teams' do not; admins share with any team or the workspace;
and the app-state migration that added the team keeps the dashboards there were."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from chatlens.app.db import MIGRATIONS, app_db_url, migrate, open_app_db
from chatlens.app.models import Base, Dashboard
from tests.serverkit import LiveServer, provision

WIDGETS = [{"metric": "conversations", "chart": "tile"}]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    store = tmp_path_factory.mktemp("sharing") / "chatlens.duckdb"
    seats = provision(
        store,
        {
            "acme": {
                "users": {
                    "root": ("admin", None, None),
                    "boss": ("manager", None, "sales"),
                    "drifter": ("manager", None, None),
                    "ann": ("agent", "ann", "sales"),
                    "bob": ("agent", "bob", "support"),
                },
            },
        },
    )
    server = LiveServer(store).start()
    people = {label: server.login(email) for label, email in seats.emails.items()}
    yield server, people, store
    server.stop()


def names(client) -> set[str]:
    answer = client.get("/api/v1/dashboards")
    assert answer.status_code == 200, answer.text
    return {d["name"] for d in answer.json()["dashboards"]}


def create(client, name: str, **share):
    return client.post("/api/v1/dashboards", json={"name": name, "widgets": WIDGETS, **share})


@pytest.mark.server
def test_a_manager_shares_with_their_team_and_only_that_team_sees_it(live):
    _, people, _ = live
    made = create(people["boss"], "Sales morning", team="sales")
    assert made.status_code == 201, made.text
    board = made.json()
    assert (board["shared"], board["team"]) == (False, "sales")
    assert "Sales morning" in names(people["ann"])
    assert people["ann"].get(f"/api/v1/dashboards/{board['id']}").json()["team"] == "sales"
    assert "Sales morning" not in names(people["bob"])
    assert people["bob"].get(f"/api/v1/dashboards/{board['id']}").status_code == 404
    assert "Sales morning" not in names(people["drifter"])  # a manager of no team
    assert "Sales morning" in names(people["root"])  # admins look after every team's
    # a viewer of the team reads it but does not change it
    edit = {"name": "mine now", "team": "sales", "widgets": WIDGETS}
    assert people["ann"].put(f"/api/v1/dashboards/{board['id']}", json=edit).status_code == 403
    # unshared again: only its owner sees it
    private = {"name": "Sales morning", "widgets": WIDGETS}
    assert people["boss"].put(f"/api/v1/dashboards/{board['id']}", json=private).status_code == 200
    assert "Sales morning" not in names(people["ann"])


@pytest.mark.server
def test_who_may_share_with_whom(live):
    _, people, _ = live
    other_team = create(people["boss"], "x", team="support")
    assert other_team.status_code == 403
    assert other_team.json()["error"]["message"] == (
        "a manager shares only with their own team ('sales')"
    )
    workspace = create(people["boss"], "x", shared=True)
    assert workspace.status_code == 403
    assert "only admins share a dashboard with the whole workspace" in workspace.text
    no_team = create(people["drifter"], "x", team="sales")
    assert no_team.status_code == 403
    assert "your seat has no team" in no_team.json()["error"]["message"]
    agent = create(people["ann"], "x", team="sales")
    assert agent.status_code == 403
    assert agent.json()["error"]["message"] == "only managers and admins share dashboards"
    both = create(people["root"], "x", shared=True, team="sales")
    assert both.status_code == 422
    assert "not both" in both.text
    assert "x" not in names(people["root"])  # nothing was made by the refused requests


@pytest.mark.server
def test_admins_share_with_any_team_or_the_workspace(live):
    _, people, _ = live
    assert create(people["root"], "Support queue", team="support").status_code == 201
    assert create(people["root"], "Everyone", shared=True).status_code == 201
    assert {"Support queue", "Everyone"} <= names(people["bob"])
    assert "Support queue" not in names(people["ann"])
    assert "Everyone" in names(people["ann"])
    assert "Support queue" not in names(people["boss"])  # another team's manager


@pytest.mark.server
def test_a_share_made_before_teams_existed_is_kept_on_save(live):
    _, people, store = live
    board = create(people["boss"], "Old wall").json()
    factory = open_app_db(app_db_url(store))
    with factory() as db:  # a manager's workspace share, as 0002 allowed
        db.get(Dashboard, board["id"]).shared = True
        db.commit()
    factory.kw["bind"].dispose()
    path = f"/api/v1/dashboards/{board['id']}"
    keep = {"name": "Old wall, renamed", "shared": True, "widgets": WIDGETS}
    assert people["boss"].put(path, json=keep).status_code == 200
    assert "Old wall, renamed" in names(people["bob"])
    off = {"name": "Old wall", "widgets": WIDGETS}
    assert people["boss"].put(path, json=off).status_code == 200
    assert people["boss"].put(path, json=keep).status_code == 403  # not again


def test_migration_0003_adds_the_team_and_keeps_the_dashboards(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'app.sqlite'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        connection.execute(
            text(
                "INSERT INTO workspaces (id, name, store, agent_access, created_at) "
                "VALUES (1, 'default', 'x.duckdb', 'own', '2026-11-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO users (id, email, password_hash, created_at) "
                "VALUES (1, 'boss@example.com', 'h', '2026-11-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO dashboards "
                "(workspace_id, owner_id, name, shared, widgets, updated_at) "
                "VALUES (1, 1, 'Wall', 1, '[]', '2026-11-01')"
            )
        )
    migrate(engine)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT name, shared, team FROM dashboards")).all()
        assert [tuple(r) for r in rows] == [("Wall", 1, None)]
        assert "team" in {c["name"] for c in inspect(connection).get_columns("dashboards")}
        # the migrations build exactly the schema the models declare
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()
