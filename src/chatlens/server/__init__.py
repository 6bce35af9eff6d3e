"""The chatlens server: the JSON API, the dashboard pages and what the server keeps running
(ingest journal, writer, facts refresher). `app.create_app` wires them."""
