"""Importers: other platforms' exports turned into chatlens events.

Each platform has one module with one `Importer` subclass, registered here by name.
"""

from __future__ import annotations

import importlib

from chatlens.errors import InputError, ItemError, did_you_mean
from chatlens.importers.base import Importer, Option, expand_paths

# name -> "module:Class"; modules are imported only when used.
REGISTRY: dict[str, str] = {
    "chatwoot": "chatlens.importers.chatwoot:ChatwootImporter",
    "rasa": "chatlens.importers.rasa:RasaImporter",
    "livechat": "chatlens.importers.livechat:LiveChatImporter",
    "intercom": "chatlens.importers.intercom:IntercomImporter",
    "mapping": "chatlens.importers.mapping:MappingImporter",
}


def importer_class(name: str) -> type[Importer]:
    target = REGISTRY.get(name)
    if target is None:
        hint = did_you_mean(name, REGISTRY)
        raise InputError(f"unknown source '{name}'{hint}; one of: {', '.join(REGISTRY)}")
    module, _, cls = target.partition(":")
    found: type[Importer] = getattr(importlib.import_module(module), cls)
    return found


def get_importer(name: str, settings: dict[str, str] | None = None) -> Importer:
    """The importer registered as `name`, configured with `settings` (KEY=VALUE options)."""
    return importer_class(name)(settings)


__all__ = ["REGISTRY", "Importer", "ItemError", "Option", "expand_paths", "get_importer"]
