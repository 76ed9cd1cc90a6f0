"""Domain errors: each carries a message a customer can act on, and changes nothing."""

from __future__ import annotations


class DomainError(Exception):
    """A request the rules refuse; `template` and `params` let a chat say it in its language."""

    code = "refused"

    def __init__(self, template: str, **params: object) -> None:
        message = template.format(**params) if params else template
        super().__init__(message)
        self.message = message
        self.template = template
        self.params = params


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


def N_(message: str) -> str:
    """Mark a message for translation where it is only looked up later (by the chat layer)."""
    return message


# Said when a payment provider fails a request (the adapters raise PaymentProviderError).
PROVIDER_UNAVAILABLE = N_("The payment provider could not be reached; try again in a moment.")
PROVIDER_REFUSED = N_("The payment provider refused the request: {detail}")
