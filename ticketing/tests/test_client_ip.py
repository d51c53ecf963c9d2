"""Rate limits cannot be escaped with ``X-Forwarded-For`` (issue #14, ticketing/clientip.py).

The Procfile's uvicorn trusted every peer's ``X-Forwarded-For`` (``--forwarded-allow-ips "*"``),
so a client sent a new address with every wrong password and was never limited
(../shared/PITFALLS.md). Tested in-process (``TRUSTED_PROXIES``) and against uvicorn started with
the Procfile's own ``web`` command, reached from 127.0.0.2: a peer on this machine that is not the
default trusted proxy (127.0.0.1).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import RequestFactory

from conftest import _free_port, database_url_of_test_db, procfile_web_command, wait_serving
from ticketing.clientip import client_ip

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "/api/v1/auth/token/"
WRONG = {"username": "alice", "password": "wrong"}
RIGHT = {"username": "alice", "password": "Secret-pass-123"}


def _request(remote: str, forwarded: str | None = None):
    if forwarded is None:
        return RequestFactory().get("/", REMOTE_ADDR=remote)
    return RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)


def test_forwarded_for_counts_only_from_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(_request("198.51.100.7", "203.0.113.1")) == "198.51.100.7"
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "127.0.0.1"]
    # The direct peer is not a proxy: its X-Forwarded-For is the client's own claim.
    assert client_ip(_request("198.51.100.7", "203.0.113.1")) == "198.51.100.7"
    # Through the load balancer: the right-most address that is not a trusted proxy.
    assert client_ip(_request("10.0.0.5", "203.0.113.1")) == "203.0.113.1"
    assert client_ip(_request("127.0.0.1", "6.6.6.6, 203.0.113.1, 10.1.2.3")) == "203.0.113.1"
    assert client_ip(_request("10.0.0.5", "10.0.0.9, 10.0.0.8")) == "10.0.0.9"
    assert client_ip(_request("10.0.0.5", "2001:db8::1")) == "2001:db8::1"
    # A malformed entry: nothing left of it can be believed; the last trusted hop is the client.
    assert client_ip(_request("10.0.0.5", "203.0.113.1, garbage, 10.0.0.6")) == "10.0.0.6"
    assert client_ip(_request("10.0.0.5")) == "10.0.0.5"


def _attempts(post, n: int, forwarded) -> list[int]:
    return [post(WRONG, forwarded(i)) for i in range(n)]


@pytest.mark.django_db
def test_spoofed_forwarded_for_does_not_escape_the_rate_limit_in_process(settings, client, buyer):
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_AUTH = "10/m"
    cache.clear()

    def post(body, forwarded):
        return client.post(
            TOKEN, body, content_type="application/json", HTTP_X_FORWARDED_FOR=forwarded
        ).status_code

    codes = _attempts(post, 30, lambda i: f"203.0.113.{i + 1}")
    assert 429 in codes[:29] and codes[:10] == [401] * 10
    assert post(RIGHT, "198.51.100.1") == 429


@pytest.mark.django_db
def test_forwarded_for_from_a_trusted_proxy_names_the_bucket(settings, client, buyer):
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_AUTH = "10/m"
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]  # the test client's REMOTE_ADDR is 127.0.0.1
    cache.clear()

    def post(body, forwarded):
        return client.post(
            TOKEN, body, content_type="application/json", HTTP_X_FORWARDED_FOR=forwarded
        ).status_code

    assert _attempts(post, 11, lambda i: "203.0.113.50")[-1] == 429
    assert post(RIGHT, "203.0.113.51") == 200  # another client behind the same proxy


@pytest.fixture
def procfile_web(transactional_db):
    """Start the Procfile's ``web`` command itself (one worker, on a free port, rate limits on),
    with the environment given; stopped at the end."""
    procs = []

    def start(env=None):
        port = _free_port()
        environment = {
            **os.environ,
            "PORT": str(port),
            "WEB_CONCURRENCY": "1",
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "DATABASE_URL": database_url_of_test_db(),
            "SECRET_KEY": django_settings.SECRET_KEY,
            "REDIS_PREFIX": f"edge-ratelimit-{uuid.uuid4().hex}",
            "RATELIMIT_ENABLE": "true",
            # 3 an hour: each wrong password costs the server ~0.7 s of PBKDF2, and
            # django-ratelimit's windows are fixed (a per-key offset), so a test's requests
            # crossing a minute window's end would start a new count (seen flaky with "3/m").
            "RATELIMIT_AUTH": "3/h",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        if "FORWARDED_ALLOW_IPS" not in (env or {}):
            environment.pop("FORWARDED_ALLOW_IPS", None)  # the Procfile's default
        log = open(ROOT / "test-artifacts" / f"procfile-{port}.log", "ab")  # noqa: SIM115 (the server's)
        proc = subprocess.Popen(
            ["bash", "-c", "exec " + procfile_web_command()],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append((proc, log))
        wait_serving(proc, f"http://127.0.0.1:{port}", log)
        return port

    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    yield start
    for proc, log in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _post_from(source: str, port: int, body: dict, forwarded: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request(
            "POST",
            TOKEN,
            json.dumps(body),
            {"Content-Type": "application/json", "X-Forwarded-For": forwarded},
        )
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


def test_the_procfile_server_ignores_forwarded_for_from_untrusted_peers(procfile_web, buyer):
    port = procfile_web()  # FORWARDED_ALLOW_IPS unset: the Procfile's default
    codes = [_post_from("127.0.0.2", port, WRONG, f"203.0.113.{i + 1}") for i in range(30)]
    assert codes[:3] == [401] * 3 and set(codes[3:]) == {429}, codes
    assert _post_from("127.0.0.2", port, RIGHT, "198.51.100.1") == 429
    # From the default trusted proxy (127.0.0.1) X-Forwarded-For is honoured: one bucket per
    # forwarded client.
    codes = [_post_from("127.0.0.1", port, WRONG, "203.0.113.200") for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    # Another forwarded client is not limited (401, not 429: the server has not the tests' fast
    # password hasher, so it cannot check the password).
    assert _post_from("127.0.0.1", port, WRONG, "203.0.113.201") == 401
