"""The central side: ingest from the broker, declaration database, reports and tracing."""
