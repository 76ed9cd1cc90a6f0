"""Connections to the outside world: command line, chat platforms, payment providers."""
