"""planbot's billing core: money, catalog, pricing, lifecycle, persistence and use cases."""
