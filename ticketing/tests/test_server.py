"""The Procfile's web command and ``TCP_NODELAY`` (issue #20; ``ticketing/server.py``).

With ``uvicorn --workers N`` the listening socket is bound without ``IPPROTO_TCP``, so asyncio
leaves ``TCP_NODELAY`` off on accepted connections (uvicorn issue #3149) and a response written in
two parts waits ≈ 40 ms for a delayed ACK. These tests read the option on the server's own side of
a live connection, from outside the server process (Linux ``pidfd_getfd``, the same user): the
Procfile's command gives every accepted connection ``TCP_NODELAY`` under ``--workers 2``; plain
``uvicorn --workers 2`` still does not — when an upgrade of uvicorn fixes it, that test fails and
the adapter can go. No timing is asserted (the stall's size is ``bench/onsale.py``'s business).
"""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from uvicorn.config import Config

from conftest import _free_port, database_url_of_test_db, procfile_web_command, wait_serving
from ticketing import server

ROOT = Path(__file__).resolve().parents[2]
SYS_PIDFD_GETFD = 438  # Linux ≥ 5.6, all architectures this project runs on

pytestmark = pytest.mark.django_db(transaction=True)


def start(command: str, port: int) -> subprocess.Popen:
    """Run ``command`` through bash as the Procfile's runner would, with 2 workers on ``port``;
    return when it answers."""
    from django.conf import settings

    env = {
        **os.environ,
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "DATABASE_URL": database_url_of_test_db(),
        "SECRET_KEY": settings.SECRET_KEY,
        "PYTHONUNBUFFERED": "1",
    }
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    log = open(ROOT / "test-artifacts" / f"server-nodelay-{port}.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        ["bash", "-c", "exec " + command], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_serving(proc, f"http://127.0.0.1:{port}", log, timeout=60)
    except RuntimeError:
        proc.kill()
        raise
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (``/proc/*/stat``)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def server_side_inode(server_port: int, client_port: int) -> str:
    """The socket inode of the server's end of the loopback connection between the ports."""
    want_local, want_remote = f":{server_port:04X}", f":{client_port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            if local.endswith(want_local) and remote.endswith(want_remote) and state == "01":
                return inode
    raise AssertionError(f"no connection {server_port} ← {client_port} in /proc/net/tcp")


def nodelay_of(pids: list[int], inode: str) -> int:
    """``TCP_NODELAY`` of the socket with ``inode``, read from whichever of ``pids`` holds it
    (a copy of its descriptor through ``pidfd_getfd``)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) != f"socket:[{inode}]":
                    continue
            except OSError:
                continue
            pidfd = os.pidfd_open(pid)
            try:
                copy = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(fd.name), 0)
                assert copy >= 0, os.strerror(ctypes.get_errno())
            finally:
                os.close(pidfd)
            with socket.socket(fileno=copy) as sock:
                return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    raise AssertionError(f"no process holds socket {inode}")


def accepted_nodelay(command: str) -> list[int]:
    """Start ``command`` with 2 workers, open 4 keep-alive connections, make a request on each,
    and read ``TCP_NODELAY`` on the server's end of each."""
    port = _free_port()
    proc = start(command, port)
    try:
        pids = descendants(proc.pid)
        assert len(pids) >= 3, pids  # the supervisor and its 2 workers
        values = []
        for _ in range(4):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
                client.sendall(b"GET /api/v1/health/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                assert client.recv(65536).startswith(b"HTTP/1.1 200")
                inode = server_side_inode(port, client.getsockname()[1])
                values.append(nodelay_of(pids, inode))
        return values
    finally:
        stop(proc)


def test_the_adapter_sets_nodelay_on_the_socket_uvicorn_binds(monkeypatch):
    """The contract with uvicorn's internals: ``Config.bind_socket`` exists, binds and returns the
    listening socket that ``--workers`` uses; after ``install()`` it has ``TCP_NODELAY``."""
    monkeypatch.setattr(Config, "bind_socket", Config.bind_socket)  # undone after the test
    config = Config("ticketing.asgi:application", host="127.0.0.1", port=0)
    plain = Config.bind_socket(config)
    with plain:
        assert plain.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
    server.install()
    fixed = Config.bind_socket(config)
    with fixed:
        assert fixed.getsockname()[0] == "127.0.0.1"
        assert fixed.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_the_procfile_web_command_gives_every_connection_nodelay():
    command = procfile_web_command()
    assert command.startswith("python -m ticketing.server "), command
    assert "--workers" in command
    assert accepted_nodelay(command) == [1, 1, 1, 1]


def test_the_adapter_gives_nodelay_on_asyncio_s_loop_too():
    """The Procfile asks for uvloop, which sets ``TCP_NODELAY`` on every connection itself; on
    asyncio's own loop (``--loop asyncio``, e.g. where uvloop cannot be installed) the adapter is
    what sets it."""
    command = procfile_web_command()
    assert "--loop uvloop" in command, command
    assert accepted_nodelay(command.replace("--loop uvloop", "--loop asyncio")) == [1, 1, 1, 1]


def test_plain_uvicorn_with_workers_on_asyncio_still_leaves_nodelay_off():
    """uvicorn issue #3149 as of the pinned version (asyncio's loop). If this fails, uvicorn sets
    the option itself now: drop ticketing/server.py and run uvicorn in the Procfile again."""
    command = procfile_web_command().replace("python -m ticketing.server ", "uvicorn ", 1)
    assert accepted_nodelay(command.replace("--loop uvloop", "--loop asyncio")) == [0, 0, 0, 0]
