"""API sync: the conversations a platform's REST API lists as updated since a stored
cursor, pulled page by page (rate limits and failures retried with backoff), folded and
converted like its webhooks, so missed webhooks are repaired and history is filled in
(docs/connections.md, "History and gaps: sync")."""

from chatlens.connect.sync.clients import CLIENTS, Client, Page, Pulled, client_for
from chatlens.connect.sync.http import Api, PlatformError, retry_after
from chatlens.connect.sync.run import Outcome, Syncer, who

__all__ = [
    "CLIENTS",
    "Api",
    "Client",
    "Outcome",
    "Page",
    "PlatformError",
    "Pulled",
    "Syncer",
    "client_for",
    "retry_after",
    "who",
]
