"""The data model, persistence and the actions layer (the only writer of complaint state)."""
