"""The topics found in real conversations: the IBM Twitter customer-care sample in
tests/data/ibm-twitter-care/ (Apache-2.0), imported as events and clustered by the
normal code path; prints the Markdown table of docs/topics.md (no message text beyond each
topic's representative question, with @handles, links and e-mail addresses removed).

    .venv/bin/python bench/ibm_topics.py [PATH/conversations.json]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import orjson

from chatlens.ingest import import_file
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts
from chatlens.topics import list_topics, rebuild

DATA = Path(__file__).parents[1] / "tests/data/ibm-twitter-care/conversations.json"


def events(dialogs: list[dict]) -> list[dict]:
    out = []
    for d in dialogs:
        cid = d["dialogHeader"]["sessionID"]
        company = d["dialogHeader"]["company"]
        out.append(
            {
                "type": "conversation_started",
                "conversation_id": cid,
                "channel": "twitter",
                "ts": d["dialogHeader"]["conversationDateTime"],
                "attrs": {"company": company},
            }
        )
        for turn in d["dialogContent"]:
            sender = "agent" if "agent" in turn else "customer"
            event = {
                "type": "message",
                "conversation_id": cid,
                "ts": turn["datetime"],
                "sender": sender,
                "text": turn["message"],
            }
            if sender == "agent":
                event["agent_id"] = company
            out.append(event)
    return out


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA
    with tempfile.TemporaryDirectory() as folder:
        jsonl = Path(folder) / "ibm.jsonl"
        jsonl.write_bytes(
            b"".join(orjson.dumps(e) + b"\n" for e in events(orjson.loads(path.read_bytes())))
        )
        with open_store(Path(folder) / "ibm.duckdb") as store:
            import_file(store, jsonl)
            refresh_facts(store)
            result = rebuild(store)
            print(
                f"{result.questions} questions ({result.distinct} distinct), "
                f"{result.topics} topics, {result.seconds:.1f} s\n"
            )
            print("| id | topic (top terms) | lang | questions | most representative question |")
            print("|---|---|---|---|---|")
            for t in list_topics(store):
                question = t["representative"].replace("|", "/")
                if len(question) > 140:
                    question = question[:137] + "..."
                print(
                    f"| {t['id']} | {t['name']} | {t['language']} | {t['questions']} | {question} |"
                )


if __name__ == "__main__":
    main()
