"""Storage: the event store, its recorders, the writer and the database plumbing."""
