"""HTTP sessions for Graph and the identity platform.

requests merges the environment over a session's own settings: ``REQUESTS_CA_BUNDLE`` replaces
``session.verify`` and ``HTTP(S)_PROXY`` applies even to 127.0.0.1. That breaks two things we
rely on: a CA bundle chosen in settings (``[identity] ca_bundle``) must win, and the loopback
sandbox must be reached directly whatever proxy the machine has. :class:`Session` fixes both
and otherwise behaves like requests.Session (proxies still apply to real hosts).
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

import requests

USER_AGENT = "outreach-monitor/0.1 (+https://github.com/outreach-monitor)"


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname or "")


class Session(requests.Session):
    def __init__(self, ca_bundle: str = "") -> None:
        super().__init__()
        self.ca_bundle = ca_bundle
        if ca_bundle:
            self.verify = ca_bundle
        self.headers["User-Agent"] = USER_AGENT

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.ca_bundle and verify in (None, True):
            settings["verify"] = self.ca_bundle
        if is_loopback(str(url)):
            # Never send loopback traffic (the sandbox) through a proxy.
            settings["proxies"] = {}
        return settings

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if is_loopback(url if isinstance(url, str) else url.decode()):
            # Stops requests from merging HTTP(S)_PROXY in for this call.
            kwargs["proxies"] = {"no_proxy": "*"}
        return super().request(method, url, *args, **kwargs)
