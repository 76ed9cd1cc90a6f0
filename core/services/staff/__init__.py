"""Support staff's use cases (DESIGN section 13): look-ups, stats, and changes that go
preview, reason, confirm once, run."""
