"""Which hosts a provider's base URL may name (design §6): the instance's allow-list, and with
private hosts disallowed, no name that resolves to a private, loopback or link-local address.

The same rules hold when a request connects (``ProviderConfig.allow_private_hosts`` and
``allowed_hosts``, checked by the llm client against the addresses it connects to), so a name
that resolves elsewhere after it was saved (DNS rebinding) is refused then.
"""

from __future__ import annotations

import socket

from django.conf import settings
from django.core.exceptions import ValidationError

from playground.llm.client import HostNotAllowed, check_addresses, check_host


def allowed_hosts() -> tuple[str, ...]:
    return tuple(h.lower() for h in settings.PLAYGROUND["PROVIDER_HOST_ALLOWLIST"])


def allow_private_hosts() -> bool:
    return settings.PLAYGROUND["ALLOW_PRIVATE_PROVIDER_HOSTS"]


def validate_host(host: str) -> None:
    """Refuse a host the instance's keys may not be sent to; with private hosts disallowed,
    a name is resolved and every address it has must be public."""
    allow_private = allow_private_hosts()
    try:
        check_host(host, allow_private=allow_private, allowed_hosts=allowed_hosts())
        if not allow_private:
            check_addresses(host, _addresses(host))
    except HostNotAllowed as refusal:
        if refusal.private:
            raise ValidationError(
                f"Private and loopback addresses are not allowed here: {refusal}."
            ) from None
        raise ValidationError(f"{refusal}.") from None


def _addresses(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host.strip("[]"), None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ValidationError(
            f"{host} could not be resolved, so its addresses cannot be checked."
        ) from None
    return [info[4][0] for info in infos]
