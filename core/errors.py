"""Domain errors: each carries a message a customer can act on, and changes nothing."""

from __future__ import annotations


class DomainError(Exception):
    """A request the rules refuse; `code` is stable for adapters and translations."""

    code = "refused"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotAllowed(DomainError):
    code = "not_allowed"


class NotFound(DomainError):
    code = "not_found"


class InvalidRequest(DomainError):
    code = "invalid"


class Conflict(DomainError):
    code = "conflict"


class PaymentProviderError(DomainError):
    code = "provider_error"
