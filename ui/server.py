"""The served app's network face: it answers only requests addressed to this machine by one of its own names.

A web page the user visits can point a name of its own at 127.0.0.1 (DNS
rebinding: ``rebind.evil.example`` answers first with its server, then with
127.0.0.1) and so reach the app from the same origin as the app itself: the
browser sends that foreign name in the ``Host`` header of every HTTP request
and of the websocket. :class:`HostCheck`, in front of Streamlit's own routes
(``app.py`` serves the app as an ``st.App`` with it), refuses them all: HTTP
with 403, the websocket before it opens (403 too). Allowed: ``localhost``,
``127.0.0.1``, ``[::1]`` and the names listed in ``MUSER_ALLOWED_HOSTS``
(comma- or space-separated, e.g. ``mybox.lan``), with any port.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from streamlit.runtime.pages_manager import PagesManager

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
ALLOWED_HOSTS_VAR = "MUSER_ALLOWED_HOSTS"
_LOG = logging.getLogger(__name__)


def allowed_hosts(environ: Mapping[str, str] = os.environ) -> frozenset[str]:
    """The loopback names and those listed in ``MUSER_ALLOWED_HOSTS``, lower case, without brackets or a last dot."""
    listed = re.split(r"[,\s]+", environ.get(ALLOWED_HOSTS_VAR, ""))
    return frozenset([*LOOPBACK_HOSTS, *(n.lower().strip("[]").rstrip(".") for n in listed if n.strip("[]."))])


def host_name(header: str | None) -> str | None:
    """The name in a ``Host`` header without its port; None for anything but a plain ``name[:port]``."""
    if not header:
        return None
    try:
        parts = urlsplit(f"//{header}")
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number in range)
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.password is not None or parts.path \
            or parts.query or parts.fragment:
        return None
    return parts.hostname.lower().rstrip(".")


class HostCheck:
    """ASGI middleware: a request or websocket whose Host is not an allowed name is refused (403)."""

    def __init__(self, app, allowed: frozenset[str] | None = None):
        self.app = app
        self.allowed = allowed_hosts() if allowed is None else allowed

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            hosts = [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"host"]
            if len(hosts) != 1 or host_name(hosts[0]) not in self.allowed:
                _LOG.warning("refused a %s request for Host %r (allowed: %s; add a name with %s)", scope["type"],
                             ", ".join(hosts), ", ".join(sorted(self.allowed)), ALLOWED_HOSTS_VAR)
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
                else:
                    body = (f"This app answers only requests addressed to {', '.join(sorted(self.allowed))}. "
                            f"To open it under another name, list the name in {ALLOWED_HOSTS_VAR}.\n").encode()
                    await send({"type": "http.response.start", "status": 403,
                                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                            (b"content-length", str(len(body)).encode())]})
                    await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def use_app_navigation() -> None:
    """Every URL gets the app's own navigation (its sections), a deep link on a fresh server too.

    Streamlit treats a ``pages/`` folder beside the main script as the old
    automatic multipage layout until some session has run ``st.navigation``:
    until then a first request for ``/Results`` ran that page file alone,
    under a flat list of files ("app, Overview, ..."). The flag below is the
    one ``st.navigation`` itself clears; clearing it when the server starts
    makes every session run ``app.py``, which draws the navigation.
    """
    PagesManager.uses_pages_directory = False
