"""Getting events in: file readers and the validate -> dedupe -> append pipeline."""

from chatlens.ingest.files import FORMATS, detect_format, progress_total, read_records
from chatlens.ingest.pipeline import ImportSummary, import_file, rejected_path_for

__all__ = [
    "FORMATS",
    "ImportSummary",
    "detect_format",
    "import_file",
    "progress_total",
    "read_records",
    "rejected_path_for",
]
