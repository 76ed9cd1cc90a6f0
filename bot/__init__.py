"""Platform-neutral conversation layer (flows and message vocabulary)."""
