"""The JSON API (/api/v1/...): parse, one call to the Reader or the writer, JSON."""
