"""Live data from the platforms teams already run: webhook deliveries of a connection
(app/connections.py) authenticated the platform's way, folded per conversation and
converted by the platform's importer (the same conversion as its export files)."""

from chatlens.connect.platforms import PLATFORMS, Platform, Refusal, platform
from chatlens.connect.receive import Received, Receiver
from chatlens.connect.settle import Settler

__all__ = ["PLATFORMS", "Platform", "Received", "Receiver", "Refusal", "Settler", "platform"]
