"""Use cases: each runs in its own unit of work and sends notices only after the commit."""
