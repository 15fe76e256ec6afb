"""Which URLs a subscription may deliver to.

A target must be ``http`` or ``https`` with a host, and must not be the service
itself: a webhook sent to slaclock's own API would at best be refused and at worst
loop. "Itself" means the port the service serves on (``SLA_PORT``) on a host that
reaches this machine's listener: a loopback address (127.0.0.0/8, ::1),
``localhost``, the unspecified address (0.0.0.0, ::) or the configured bind host.
Other ports on loopback stay allowed (a local relay or test receiver).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_LENGTH = 2048


def _is_local(host: str, bind_host: str) -> bool:
    if host in {"localhost", bind_host.lower()} or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def target_problem(url: str, own_host: str, own_port: int) -> str | None:
    """Why ``url`` cannot be a webhook target, or None when it can."""
    if len(url) > MAX_URL_LENGTH:
        return f"a URL has at most {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return f"not a valid URL: {error}"
    if parts.scheme not in DEFAULT_PORTS:
        return "the URL must be http or https"
    host = (parts.hostname or "").lower()
    if not host:
        return "the URL must name a host"
    if parts.username is not None or parts.password is not None:
        return "the URL must not carry credentials (sign with the secret instead)"
    effective = port if port is not None else DEFAULT_PORTS[parts.scheme]
    if effective == own_port and _is_local(host, own_host):
        return "the URL points at this service itself"
    return None
