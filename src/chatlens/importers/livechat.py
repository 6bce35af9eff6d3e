"""LiveChat (livechat.com) chat archives in, chatlens events out.

Two documented export shapes are read, each item being one chat as the API returns it:

- Agent Chat API v3.x `list_archives` (`get_archives` in v3.1): `{"chats": [...],
  "found_chats": N, "next_page_id": ...}`. Each item is a chat with its `users` and **one**
  `thread` (the same chat appears once per thread); a chat carrying a `threads` list is read
  too. Every thread is one chatlens conversation, `<chat id>:<thread id>`: a thread is what
  LiveChat's own reports count as a chat, and it has its own queue, tags, rating and close.
- REST API v2 `GET /chats` (`{"chats": [...], "total": N, "pages": P}`): each item is one chat
  session; its id is the conversation id.

What the archives do not record (the moment an agent was assigned when the chat was not
queued, a resolution, tag times...) is not invented: see docs/importers/livechat.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from chatlens.errors import InputError, ItemError
from chatlens.importers.base import Importer, Option, epoch_seconds, event_id, iso_time

SOURCE = "livechat"
# v3 events that are something someone said (a `file` or a rich message is a turn too).
SAID = ("message", "file", "rich_message")
# v3 system messages that end a thread (system-messages reference).
CLOSING = {
    "manual_archived_agent",
    "manual_archived_customer",
    "archived_customer_disconnected",
    "customer_banned",
    "system_archived",
    "routing.archived_deleted",
    "routing.archived_disconnected",
    "routing.archived_inactive",
    "routing.archived_offline",
    "routing.archived_other",
    "routing.archived_remotely_signed_out",
    "routing.archived_signed_out",
}
RATED = ("rating.chat_rated", "rating.chat_commented")
RESOLUTIONS = ("", "resolved")


class LiveChatImporter(Importer):
    """LiveChat archives: Agent Chat API v3.x `list_archives` pages, or REST API v2 `GET /chats`
    pages (both keep their chats under `chats`)."""

    name = "livechat"
    summary = "LiveChat archives: Agent Chat API v3.x list_archives, or REST API v2 GET /chats"
    envelope_keys = ("chats",)
    options: ClassVar[tuple[Option, ...]] = (
        Option("channel", "web", "channel of every conversation"),
        Option(
            "bots",
            "",
            "comma-separated agent ids (as in users[].id / agent_id) that are bots: their "
            "messages become bot messages",
        ),
        Option(
            "groups",
            "",
            "team names for LiveChat group ids, ID=NAME,... (unnamed groups keep their id)",
        ),
        Option(
            "resolution",
            "",
            "empty: closes carry no resolution (LiveChat records none); 'resolved': a closed "
            "chat someone answered is resolved, an unanswered one unresolved",
        ),
    )

    def __init__(self, settings: dict[str, str] | None = None):
        super().__init__(settings)
        if self.settings["resolution"] not in RESOLUTIONS:
            raise InputError(
                f"importer 'livechat': option resolution={self.settings['resolution']!r}: "
                "expected 'resolved' or nothing"
            )
        self.bots = {b.strip() for b in self.settings["bots"].split(",") if b.strip()}
        self.groups: dict[str, str] = {}
        for pair in filter(None, (p.strip() for p in self.settings["groups"].split(","))):
            key, sep, value = pair.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise InputError(f"importer 'livechat': option groups: {pair!r} is not ID=NAME")
            self.groups[key.strip()] = value.strip()

    def ref(self, item: dict[str, Any]) -> str | None:
        chat = item.get("id")
        thread = item.get("thread")
        if isinstance(thread, dict) and thread.get("id") is not None:
            return f"chat {chat} thread {thread['id']}"
        return f"chat {chat}" if chat is not None else None

    def convert(self, item: dict[str, Any]) -> Iterable[dict[str, Any]]:
        if "thread" in item or "threads" in item:
            return self._archive_chat(item)
        if "started_timestamp" in item or "visitor" in item:
            return self._rest_chat(item)
        raise ItemError(
            "thread",
            "missing: expected a list_archives chat (with a thread) or a REST API v2 chat "
            "(with started_timestamp)",
        )

    def team(self, group_ids: Any) -> str | None:
        """The team of a LiveChat group list: its first group, named by the groups option."""
        if isinstance(group_ids, list) and group_ids:
            key = str(group_ids[0])
            return self.groups.get(key, key)
        return None

    # -- Agent Chat API v3.x ------------------------------------------------------------------

    def _archive_chat(self, chat: dict[str, Any]) -> list[dict[str, Any]]:
        chat_id = _text_id(chat, "id")
        users = {
            str(u["id"]): u
            for u in chat.get("users") or []
            if isinstance(u, dict) and u.get("id") is not None
        }
        if "thread" in chat:
            threads = [("thread", chat["thread"])]
        else:
            listed = chat["threads"]
            if not isinstance(listed, list):
                raise ItemError("threads", "not a list of threads")
            threads = [(f"threads[{n}]", t) for n, t in enumerate(listed)]
        events: list[dict[str, Any]] = []
        for where, thread in threads:
            if not isinstance(thread, dict):
                raise ItemError(where, "not a thread object")
            events.extend(_ThreadReader(self, chat, users, thread, where, chat_id).events())
        return events

    # -- REST API v2 --------------------------------------------------------------------------

    def _rest_chat(self, chat: dict[str, Any]) -> list[dict[str, Any]]:
        if chat.get("type", "chat") != "chat":
            return []  # a left message (offline form), not a chat
        return _RestReader(self, chat).events()


class _Conversation:
    """The events of one conversation, kept in time order (ties in the order added)."""

    def __init__(self, conversation_id: str, prefix: tuple[str, ...], customer: str | None):
        self.conversation_id = conversation_id
        self.prefix = prefix
        self.customer = customer
        self._events: list[tuple[dt.datetime, int, dict[str, Any]]] = []

    def add(self, key: tuple[object, ...], type_: str, at: dt.datetime, **fields: Any) -> None:
        event: dict[str, Any] = {
            "event_id": event_id(*self.prefix, *key),
            "type": type_,
            "ts": at.isoformat(),
            "conversation_id": self.conversation_id,
        }
        if self.customer is not None:
            event["customer_id"] = self.customer
        event.update({k: v for k, v in fields.items() if v is not None})
        self._events.append((at, len(self._events), event))

    def sorted(self) -> list[dict[str, Any]]:
        return [e for _, _, e in sorted(self._events, key=lambda t: (t[0], t[1]))]


class _Agents:
    """Who is handling the chat: agents join once; `current` holds the chat now."""

    def __init__(self, conv: _Conversation, team: str | None):
        self.conv, self.team = conv, team
        self.joined: set[str] = set()
        self.current: str | None = None

    def join(self, agent: str, at: dt.datetime) -> None:
        if agent in self.joined:
            return
        self.joined.add(agent)
        self.conv.add(("joined", agent), "agent_joined", at, agent_id=agent, team=self.team)
        if self.current is None:
            self.current = agent


class _ThreadReader:
    """One v3 thread of a chat -> the events of one conversation."""

    def __init__(
        self,
        importer: LiveChatImporter,
        chat: dict[str, Any],
        users: dict[str, dict[str, Any]],
        thread: dict[str, Any],
        where: str,
        chat_id: str,
    ):
        self.importer, self.users, self.thread, self.where = importer, users, thread, where
        self.chat_id = chat_id
        self.thread_id = _text_id(thread, "id", f"{where}.id")
        restricted = thread.get("restricted_access")
        if restricted:
            reason = f": {restricted}" if isinstance(restricted, str) else ""
            raise ItemError(
                f"{where}.restricted_access", f"the thread's events are not accessible{reason}"
            )
        raw = thread.get("events")
        if raw is None:  # only a restricted thread comes without its events
            raise ItemError(f"{where}.events", "missing")
        if not isinstance(raw, list):
            raise ItemError(f"{where}.events", "not a list of events")
        self.raw = [
            (n, _at(e.get("created_at"), f"{where}.events[{n}].created_at"), e)
            for n, e in enumerate(raw)
            if isinstance(e, dict)
        ]
        self.raw.sort(key=lambda r: (r[1], r[0]))  # already in order; made sure
        self.customer = self._customer(chat)
        self.team = importer.team(_group_ids(thread) or _group_ids(chat))
        self.conv = _Conversation(
            f"{chat_id}:{self.thread_id}", (SOURCE, chat_id, self.thread_id), self.customer
        )
        self.agents = _Agents(self.conv, self.team)

    def _customer(self, chat: dict[str, Any]) -> str | None:
        in_thread = [str(u) for u in self.thread.get("user_ids") or []]
        customers = [i for i, u in self.users.items() if u.get("type") == "customer"]
        for user in customers:
            if user in in_thread:
                return user
        return customers[0] if customers else None

    def role(self, author: str) -> str:
        """customer, bot or agent. LiveChat's only other authors are agents (bots included),
        so an author missing from `users` (an agent since removed) counts as an agent."""
        if author in self.importer.bots:
            return "bot"
        user = self.users.get(author)
        if user is not None and user.get("type") == "customer":
            return "customer"
        return "agent"

    def by_name(self, name: Any) -> str | None:
        """The human agent a system message names (text_vars hold display names)."""
        if not isinstance(name, str) or not name.strip():
            return None
        matches = [
            i
            for i, u in self.users.items()
            if u.get("type") == "agent" and str(u.get("name", "")).strip() == name.strip()
        ]
        if len(matches) == 1 and matches[0] not in self.importer.bots:
            return matches[0]
        return None

    def events(self) -> list[dict[str, Any]]:
        thread, where = self.thread, self.where
        start = self._start()
        greeting = _prop(thread, "lc2", "greeting_id") is not None
        self.conv.add(
            ("started",),
            "conversation_started",
            start,
            channel=self.importer.settings["channel"],
            team=self.team,
            initiated_by="business" if greeting else "customer",
            page_url=_text(_prop(thread, "routing", "start_url")),
        )
        said = [r for r in self.raw if self._human_turn(r[2])]
        first_human = (str(said[0][2]["author_id"]), said[0][1]) if said else None
        bot_first = any(
            e.get("type") in SAID and str(e.get("author_id")) in self.importer.bots
            for _, at, e in self.raw
            if first_human is None or at <= first_human[1]
        )
        queued = _seconds(thread.get("queues_duration"))
        if queued is not None and not bot_first:
            # The queue's end is the pickup; never later than the agent's first word.
            agent = first_human[0] if first_human else self._assigned_agent()
            if agent is not None:
                at = start + dt.timedelta(seconds=queued)
                if first_human is not None:
                    at = min(at, first_human[1])
                self.agents.join(agent, at)
        close: tuple[dt.datetime, str] | None = None
        rated_at: dt.datetime | None = None
        last = start
        answered = {"agent": False, "bot": False}
        bot_waiting = False  # a bot spoke and no human has the chat yet
        for n, at, event in self.raw:
            kind = event.get("type")
            path = f"{where}.events[{n}]"
            if kind in SAID:
                last = max(last, at)
                if self._human_turn(event):  # an agent's first word is a pickup at the latest
                    answered["agent"] = True
                    author = str(event["author_id"])
                    if author not in self.agents.joined and bot_waiting:
                        self.conv.add(("handoff",), "handoff_requested", at, reason="agent")
                        bot_waiting = False
                    self.agents.join(author, at)
                if self._message(n, at, event, path) == "bot":
                    answered["bot"] = True
                    bot_waiting = bot_waiting or not self.agents.joined
            elif kind == "system_message":
                subtype = str(event.get("system_message_type", ""))
                if subtype in RATED:
                    rated_at = at
                    continue
                last = max(last, at)
                if subtype in CLOSING:
                    close = (at, subtype)
                elif subtype == "chat_transferred":
                    if bot_waiting:
                        self.conv.add(("handoff",), "handoff_requested", at, reason="transfer")
                        bot_waiting = False
                        target = self.by_name(_vars(event).get("targets"))
                        if target is not None:
                            self.agents.join(target, at)
                    else:
                        self._transfer(n, at, event)
                elif subtype.startswith("routing.assigned_"):
                    self._reassign(n, at, event)
                elif subtype in ("agent_added", "agent_joined"):
                    agent = self.by_name(_vars(event).get("agent"))
                    if agent is not None:
                        self.agents.join(agent, at)
            # filled_form (pre/post-chat survey), form, custom and system events: not turns
        closed = thread.get("active") is False or (thread.get("active") is None and bool(close))
        end = close[0] if close else last
        self._rating(rated_at or end)
        tags = thread.get("tags") or []
        if not isinstance(tags, list):
            raise ItemError(f"{where}.tags", "not a list of tags")
        for tag in dict.fromkeys(str(t) for t in tags if t not in (None, "")):
            self.conv.add(("tag", tag), "tag_added", end, tag=tag)
        if closed:
            fields: dict[str, Any] = {"reason": close[1] if close else None}
            if self.importer.settings["resolution"] == "resolved":
                fields.update(_outcome(answered))
            self.conv.add(("closed",), "conversation_closed", end, **fields)
        return self.conv.sorted()

    def _start(self) -> dt.datetime:
        thread, where = self.thread, self.where
        if thread.get("created_at") is not None:
            return _at(thread["created_at"], f"{where}.created_at")
        if thread.get("timestamp") is not None:  # v3.1: Unix seconds
            return _at(epoch_seconds(thread["timestamp"], f"{where}.timestamp"), "")
        if self.raw:
            return self.raw[0][1]
        raise ItemError(f"{where}.created_at", "missing (and the thread has no events)")

    def _human_turn(self, event: dict[str, Any]) -> bool:
        """A public turn by a human agent (not a bot, a private note or an automatic greeting)."""
        author = event.get("author_id")
        return (
            event.get("type") in SAID
            and author is not None
            and self.role(str(author)) == "agent"
            and not _private(event)
            and not _automatic(event)
        )

    def _assigned_agent(self) -> str | None:
        """The agent the queue handed the chat to when that agent never wrote."""
        for user in self.thread.get("user_ids") or []:
            user = str(user)
            if self.users.get(user, {}).get("type") == "agent" and user not in self.importer.bots:
                return user
        return None

    def _message(self, n: int, at: dt.datetime, event: dict[str, Any], path: str) -> str:
        author = event.get("author_id")
        if author is None or author == "":
            raise ItemError(f"{path}.author_id", "missing")
        author = str(author)
        role = self.role(author)
        sender = "system" if role == "agent" and _automatic(event) else role
        fields: dict[str, Any] = {"sender": sender, "text": _turn_text(event)}
        if sender == "agent":
            fields["agent_id"] = author
        elif sender == "bot":
            fields["bot_id"] = author
            if _automatic(event):
                fields["welcome"] = True
        if _private(event):
            fields["private"] = True
        key = event.get("id")
        self.conv.add(("ev", key if key not in (None, "") else f"#{n}"), "message", at, **fields)
        return sender

    def _transfer(self, n: int, at: dt.datetime, event: dict[str, Any]) -> None:
        targets = _vars(event).get("targets")
        agent = self.by_name(targets)
        team = None
        if agent is None:
            team = _text(targets)
            if team is None:  # unnamed target: the next other agent who speaks took it
                agent = self._next_speaker(n)
        if agent is None and team is None:
            return
        self.conv.add(
            ("transfer", event.get("id") or f"#{n}"),
            "transferred",
            at,
            agent_id=agent,
            from_agent_id=self.agents.current,
            team=team,
        )
        if agent is not None:
            self.agents.joined.add(agent)
            self.agents.current = agent

    def _reassign(self, n: int, at: dt.datetime, event: dict[str, Any]) -> None:
        """routing.assigned_*: the chat moved to %agent_added% because of %agent_removed%."""
        names = _vars(event)
        added = self.by_name(names.get("agent_added"))
        if added is None:
            return
        removed = self.by_name(names.get("agent_removed")) or self.agents.current
        self.conv.add(
            ("transfer", event.get("id") or f"#{n}"),
            "transferred",
            at,
            agent_id=added,
            from_agent_id=removed,
            reason=str(event.get("system_message_type")),
        )
        self.agents.joined.add(added)
        self.agents.current = added

    def _next_speaker(self, n: int) -> str | None:
        for m, _, event in self.raw:
            if m > n and self._human_turn(event):
                author = str(event["author_id"])
                if author != self.agents.current:
                    return author
        return None

    def _rating(self, at: dt.datetime) -> None:
        score = _prop(self.thread, "rating", "score")
        if score is None:
            return
        if isinstance(score, bool) or score not in (0, 1):
            raise ItemError(
                f"{self.where}.properties.rating.score",
                f"expected 0 (thumbs down) or 1 (thumbs up), got {score!r}",
            )
        comment = _text(_prop(self.thread, "rating", "comment"))
        self.conv.add(("rating",), "rating", at, kind="thumbs", score=int(score), comment=comment)


class _RestReader:
    """One REST API v2 chat -> the events of one conversation."""

    def __init__(self, importer: LiveChatImporter, chat: dict[str, Any]):
        self.importer, self.chat = importer, chat
        self.chat_id = _text_id(chat, "id")
        visitor = chat.get("visitor")
        customer = visitor.get("id") if isinstance(visitor, dict) else None
        self.conv = _Conversation(
            self.chat_id, (SOURCE, self.chat_id), str(customer) if customer else None
        )
        self.team = importer.team(chat.get("group"))
        self.agents = _Agents(self.conv, self.team)

    def _entries(self) -> tuple[str, list[tuple[int, dt.datetime, dict[str, Any]]]]:
        key = "events" if isinstance(self.chat.get("events"), list) else "messages"
        raw = self.chat.get(key) or []
        if not isinstance(raw, list):
            raise ItemError(key, "not a list")
        entries = [
            (n, _at(epoch_seconds(e.get("timestamp"), f"{key}[{n}].timestamp"), ""), e)
            for n, e in enumerate(raw)
            if isinstance(e, dict)
        ]
        entries.sort(key=lambda r: (r[1], r[0]))
        return key, entries

    def events(self) -> list[dict[str, Any]]:
        chat = self.chat
        started = _at(epoch_seconds(chat.get("started_timestamp"), "started_timestamp"), "")
        queue = chat.get("queue")
        waited = _seconds(queue.get("duration")) if isinstance(queue, dict) else None
        # A v2 chat starts when it leaves the queue (queue.duration seconds after queue entry).
        start = started - dt.timedelta(seconds=waited) if waited is not None else started
        invited = chat.get("engagement") in ("auto_invite", "manual_invite")
        self.conv.add(
            ("started",),
            "conversation_started",
            start,
            channel=self.importer.settings["channel"],
            team=self.team,
            initiated_by="business" if invited else "customer",
            page_url=_text(chat.get("chat_start_url")),
        )
        key, entries = self._entries()
        turns = [r for r in entries if r[2].get("type", "message") in ("message", "attachment")]
        humans = [r for r in turns if self._role(r[2]) == "agent"]
        if waited is not None:
            agent = _text(humans[0][2].get("agent_id")) if humans else self._listed_agent()
            if agent is not None:
                self.agents.join(agent, min(started, humans[0][1]) if humans else started)
        seen: dict[tuple[object, ...], int] = {}
        answered = {"agent": False, "bot": False}
        last = start
        for n, at, entry in turns:
            last = max(last, at)
            role = self._role(entry)
            who = entry.get("agent_id") or entry.get("user_type")
            kind = "msg" if entry.get("type", "message") == "message" else "file"
            base = (kind, entry.get("timestamp"), who)
            seen[base] = seen.get(base, -1) + 1
            fields: dict[str, Any] = {"sender": role}
            if kind == "msg":
                fields["text"] = _text(entry.get("text"))
            if role in ("agent", "bot"):
                agent = _text(entry.get("agent_id"))
                if agent is None:
                    raise ItemError(f"{key}[{n}].agent_id", "missing for an agent message")
                fields["agent_id" if role == "agent" else "bot_id"] = agent
                if entry.get("user_type") == "supervisor":
                    fields["private"] = True  # supervisors' messages reach agents only
                elif role == "agent":
                    answered["agent"] = True
                    self.agents.join(agent, at)
                else:
                    answered["bot"] = True
            self.conv.add((*base, seen[base]), "message", at, **fields)
        pending = bool(chat.get("pending"))
        end = last
        if not pending and chat.get("ended_timestamp") is not None:
            end = _at(epoch_seconds(chat["ended_timestamp"], "ended_timestamp"), "")
        rate = chat.get("rate")
        if rate in ("rated_good", "rated_bad"):
            score = 1 if rate == "rated_good" else 0
            self.conv.add(("rating",), "rating", end, kind="thumbs", score=score)
        elif rate not in (None, "", "not_rated"):
            raise ItemError("rate", f"expected rated_good, rated_bad or not_rated, got {rate!r}")
        for tag in dict.fromkeys(str(t) for t in chat.get("tags") or [] if t not in (None, "")):
            self.conv.add(("tag", tag), "tag_added", end, tag=tag)
        if not pending and chat.get("ended_timestamp") is not None:
            fields = {}
            if self.importer.settings["resolution"] == "resolved":
                fields = _outcome(answered)
            self.conv.add(("closed",), "conversation_closed", end, **fields)
        return self.conv.sorted() + list(self._goals(end))

    def _role(self, entry: dict[str, Any]) -> str:
        kind = entry.get("user_type")
        if kind == "visitor":
            return "customer"
        if kind in ("agent", "supervisor"):
            agent = entry.get("agent_id")
            return "bot" if agent is not None and str(agent) in self.importer.bots else "agent"
        return "system"

    def _listed_agent(self) -> str | None:
        for agent in self.chat.get("agents") or []:
            email = _text(agent.get("email")) if isinstance(agent, dict) else None
            if email is not None and email not in self.importer.bots:
                return email
        return None

    def _goals(self, end: dt.datetime) -> Iterator[dict[str, Any]]:
        """Goals reached (`goals[]`): the export gives no time, so the chat's end is used."""
        if self.conv.customer is None:
            return
        for n, goal in enumerate(self.chat.get("goals") or []):
            if not isinstance(goal, dict):
                continue
            name = _text(goal.get("name"))
            if name is None:
                raise ItemError(f"goals[{n}].name", "missing")
            order = goal.get("order")
            if not isinstance(order, dict):
                order = {}
            event: dict[str, Any] = {
                "event_id": event_id(SOURCE, self.chat_id, "goal", goal.get("id", f"#{n}")),
                "type": "goal_completed",
                "ts": end.isoformat(),
                "customer_id": self.conv.customer,
                "goal": name,
            }
            price = order.get("price")
            if price not in (None, ""):
                try:
                    event["value"] = float(price)
                except (TypeError, ValueError):
                    raise ItemError(f"goals[{n}].order.price", f"not a number: {price!r}") from None
                if _text(order.get("currency")):
                    event["currency"] = order["currency"]
            yield event


# -- small helpers -----------------------------------------------------------------------------


def _at(value: Any, field: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso_time(value, field))


def _text_id(item: dict[str, Any], key: str, field: str | None = None) -> str:
    value = item.get(key)
    if value is None or value == "" or isinstance(value, dict | list | bool):
        raise ItemError(field or key, "missing" if value in (None, "") else "not an id")
    return str(value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _seconds(value: Any) -> float | None:
    """A positive duration in seconds, else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def _group_ids(obj: dict[str, Any]) -> Any:
    access = obj.get("access")
    return access.get("group_ids") if isinstance(access, dict) else None


def _prop(obj: dict[str, Any], namespace: str, name: str) -> Any:
    """A LiveChat property; v3.1 wraps values as {"value": ...}."""
    props = obj.get("properties")
    space = props.get(namespace) if isinstance(props, dict) else None
    value = space.get(name) if isinstance(space, dict) else None
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def _vars(event: dict[str, Any]) -> dict[str, Any]:
    text_vars = event.get("text_vars")
    return text_vars if isinstance(text_vars, dict) else {}


def _private(event: dict[str, Any]) -> bool:
    """Seen by agents only: `visibility` (v3.2+) or `recipients` (v3.1) is `agents`."""
    return "agents" in (event.get("visibility"), event.get("recipients"))


def _automatic(event: dict[str, Any]) -> bool:
    """The chat widget's welcome message or a greeting (proactive invitation)."""
    return (
        _prop(event, "lc2", "welcome_message") is True
        or _prop(event, "lc2", "greeting_id") is not None
        or _prop(event, "lc2", "greeting_unique_id") is not None
    )


def _turn_text(event: dict[str, Any]) -> str | None:
    if event.get("type") == "message":
        return _text(event.get("text"))
    if event.get("type") == "rich_message":
        elements = event.get("elements")
        if isinstance(elements, list) and elements and isinstance(elements[0], dict):
            return _text(elements[0].get("title"))
    return None  # a file: no text


def _outcome(answered: dict[str, bool]) -> dict[str, Any]:
    if answered["agent"]:
        return {"resolution": "resolved", "resolved_by": "agent"}
    if answered["bot"]:
        return {"resolution": "resolved", "resolved_by": "bot"}
    return {"resolution": "unresolved"}
