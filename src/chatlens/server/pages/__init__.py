"""The dashboard pages: parse, one call to the Reader, render a template."""
