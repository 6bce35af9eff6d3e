"""A person's rights over what chatlens holds about them (docs/privacy.md): an access
request answered with everything held about a customer (`export_customer`), an erasure that
removes a customer's or an agent's texts and replaces their ids with a token everywhere
(`erase`, a recorded job that survives a crash), and the log of both kinds of request
(`list_requests`)."""

from chatlens.privacy.access import answer_export, export_customer
from chatlens.privacy.erasure import Erasure, erase, pending, resume
from chatlens.privacy.requests import list_requests

__all__ = [
    "Erasure",
    "answer_export",
    "erase",
    "export_customer",
    "list_requests",
    "pending",
    "resume",
]
