"""The served app refuses a foreign Host (DNS rebinding) for HTTP and the websocket alike, against a real server."""

from __future__ import annotations

import asyncio
import http.client
import re
import socket
from urllib.parse import urlsplit

import pytest

from ui.server import ALLOWED_HOSTS_VAR, HostCheck, allowed_hosts, host_name

EVIL = "rebind.evil.example"


def _get(url: str, path: str, host: str) -> tuple[int, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.putrequest("GET", path, skip_host=True)
    conn.putheader("Host", host)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def _websocket_status(url: str, host: str) -> int:
    """The HTTP status of a websocket handshake on /_stcore/stream (101: opened)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      f"Sec-WebSocket-Version: 13\r\nOrigin: http://{host}\r\n\r\n").encode())
        status_line = sock.recv(4096).split(b"\r\n", 1)[0].decode()
    return int(status_line.split()[1])


@pytest.mark.slow
def test_a_running_server_refuses_a_foreign_host_for_the_page_its_files_and_the_websocket(streamlit_url):
    port = urlsplit(streamlit_url).port
    status, page = _get(streamlit_url, "/", f"localhost:{port}")
    assert status == 200
    script = re.search(rb'src="\.?/?(static/[^"]+\.js)"', page).group(1).decode()
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "localhost"):
        for path in ("/", f"/{script}", "/_stcore/health"):
            assert _get(streamlit_url, path, host)[0] == 200, (host, path)
        assert _websocket_status(streamlit_url, host) == 101, host
    for host in (f"{EVIL}:{port}", EVIL, f"localhost.{EVIL}:{port}", f"localhost@{EVIL}:{port}"):
        for path in ("/", f"/{script}", "/_stcore/health"):
            status, body = _get(streamlit_url, path, host)
            assert status == 403 and ALLOWED_HOSTS_VAR.encode() in body, (host, path)
        assert _websocket_status(streamlit_url, host) == 403, host


def test_allowed_names_are_the_loopback_ones_and_those_listed():
    assert allowed_hosts({}) == {"localhost", "127.0.0.1", "::1"}
    assert allowed_hosts({ALLOWED_HOSTS_VAR: " MyBox.lan, [fe80::1]  lab.example. ,"}) == \
        {"localhost", "127.0.0.1", "::1", "mybox.lan", "fe80::1", "lab.example"}
    assert [host_name(h) for h in ("localhost:8501", "[::1]:8501", "LOCALHOST.", "127.0.0.1")] == \
        ["localhost", "::1", "localhost", "127.0.0.1"]
    assert [host_name(h) for h in ("", None, "localhost:99999", "localhost:x", "evil@localhost", "localhost/a",
                                   "localhost?a")] == [None] * 7


def _asgi_call(check: HostCheck, kind: str, headers: list[tuple[bytes, bytes]]) -> list[dict]:
    sent = []

    async def receive():
        return {"type": "http.request"}

    async def send(message):
        sent.append(message)

    asyncio.run(check({"type": kind, "headers": headers}, receive, send))
    return sent


def test_the_check_passes_an_allowed_host_through_and_answers_every_other_itself():
    reached = []

    async def app(scope, receive, send):
        reached.append(scope["type"])

    check = HostCheck(app, allowed_hosts({ALLOWED_HOSTS_VAR: "mybox.lan"}))
    for kind in ("http", "websocket"):
        assert _asgi_call(check, kind, [(b"host", b"mybox.lan:8501")]) == []
        refused = _asgi_call(check, kind, [(b"host", EVIL.encode())])
        if kind == "websocket":  # closed before it is accepted: the server answers the handshake with 403
            assert refused == [{"type": "websocket.close", "code": 1008}]
        else:
            assert refused[0]["status"] == 403 and ALLOWED_HOSTS_VAR.encode() in refused[1]["body"]
        assert _asgi_call(check, kind, []) and _asgi_call(check, kind, [(b"host", b"localhost")] * 2)  # none, two
    assert reached == ["http", "websocket"]
    assert _asgi_call(check, "lifespan", []) == [] and reached[-1] == "lifespan"


def test_the_served_check_reads_the_names_from_the_environment(monkeypatch):
    monkeypatch.setenv(ALLOWED_HOSTS_VAR, "mybox.lan")
    assert "mybox.lan" in HostCheck(None).allowed
    monkeypatch.delenv(ALLOWED_HOSTS_VAR)
    assert HostCheck(None).allowed == {"localhost", "127.0.0.1", "::1"}
