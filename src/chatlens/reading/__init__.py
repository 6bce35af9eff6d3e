"""Reading a workspace as one seat may: the `Reader` (figures, conversation lists and
transcripts, live status, filter menus, CSAT spread, comments, topics, exports) with the
seat's scope applied inside it (chatlens.reading.scope). The web layer reads only through it.
"""

from chatlens.errors import Forbidden, NotFound
from chatlens.reading.reader import Audit, Engines, Page, Reader
from chatlens.reading.scope import Seat

__all__ = ["Audit", "Engines", "Forbidden", "NotFound", "Page", "Reader", "Seat"]
