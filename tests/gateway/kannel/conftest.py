"""Kannel's own programs as peers: drive_smpp (its SMPP test SMSC) and bearerbox + smsbox.

Never skipped: `scripts/ensure-packages` installs the Debian packages; a missing
binary is a failure, not a skip.
"""

from __future__ import annotations

import contextlib
import fcntl
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

DRIVE_SMPP = Path("/usr/lib/kannel/test/drive_smpp")
BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
DRIVE_SMPP_SMSBOX_PORT = 13001  # compiled into drive_smpp
LOCK_FILE = Path("/tmp/lapor-drive-smpp-13001.lock")


def require(*binaries: Path) -> None:
    missing = [str(b) for b in binaries if not b.exists()]
    if missing:
        pytest.fail(
            f"missing {missing}: run scripts/ensure-packages (Debian kannel, kannel-extras)"
        )


class SinkListener:
    """Accepts connections and holds them open, reading and discarding what arrives."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    @staticmethod
    def _drain(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while conn.recv(65536):
                pass

    def close(self) -> None:
        for sock in [self.sock, *self._conns]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.fixture()
def drive_smpp_smsbox_port() -> Iterator[int]:
    """Something listening on 127.0.0.1:13001, where drive_smpp insists on finding a bearerbox.

    drive_smpp only needs the connection to exist (its "smsbox" side is not
    what we test); a file lock keeps concurrent runs on this machine in turn.
    """
    require(DRIVE_SMPP)
    with LOCK_FILE.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sink = SinkListener(DRIVE_SMPP_SMSBOX_PORT)
        try:
            yield DRIVE_SMPP_SMSBOX_PORT
        finally:
            sink.close()
