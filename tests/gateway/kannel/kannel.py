"""Kannel 1.4.5 (Debian's bearerbox + smsbox) bound to an SMSC, for tests and bench/bench_smpp.py.

One configuration file holds the core, the SMPP smsc, the smsbox with a
sendsms user, and one default sms-service: either a get-url (the gateway's
/sms/http) or a static text (Kannel answering by itself, the benchmark's
reference). Every port is a free loopback port; nothing is left running.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from support import free_port

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
SENDSMS_USER, SENDSMS_PASSWORD = "gw", "pw"


@dataclass(frozen=True)
class KannelSetup:
    """Where Kannel binds and what its default sms-service does (exactly one of the two)."""

    smsc_port: int
    system_id: str
    password: str
    workdir: Path
    get_url: str = ""
    static_text: str = ""
    admin_port: int = field(default_factory=free_port)
    smsbox_port: int = field(default_factory=free_port)
    sendsms_port: int = field(default_factory=free_port)

    @property
    def sendsms_url(self) -> str:
        """smsbox's sendsms with the user's fixed credentials (a partner's send_url)."""
        return (
            f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"
            f"?username={SENDSMS_USER}&password={SENDSMS_PASSWORD}"
        )

    def config(self) -> str:
        service = (
            f'get-url = "{self.get_url}"\nomit-empty = true\n'
            if self.get_url
            else f'text = "{self.static_text}"\n'
        )
        return f"""group = core
admin-port = {self.admin_port}
admin-password = bench
smsbox-port = {self.smsbox_port}
box-allow-ip = "127.0.0.1"
log-file = "{self.workdir / "bearerbox.log"}"
log-level = 1
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = {self.smsc_port}
transceiver-mode = true
smsc-username = "{self.system_id}"
smsc-password = "{self.password}"
system-type = ""
reconnect-delay = 1
max-pending-submits = 50

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.smsbox_port}
sendsms-port = {self.sendsms_port}
log-file = "{self.workdir / "smsbox.log"}"
log-level = 1

group = sendsms-user
username = {SENDSMS_USER}
password = {SENDSMS_PASSWORD}
concatenation = true
max-messages = 10

group = sms-service
keyword = default
catch-all = true
{service}"""


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def running_kannel(setup: KannelSetup, ready_s: float = 20.0) -> Iterator[KannelSetup]:
    """bearerbox, then smsbox; yields once smsbox's sendsms port answers. Stops both."""
    missing = [str(b) for b in (BEARERBOX, SMSBOX) if not b.exists()]
    if missing:
        raise RuntimeError(f"missing {missing}: run scripts/ensure-packages")
    conf = setup.workdir / "kannel.conf"
    conf.write_text(setup.config())
    output = (setup.workdir / "kannel.out").open("ab")
    procs = [subprocess.Popen([str(BEARERBOX), str(conf)], stdout=output, stderr=output)]
    try:
        deadline = time.monotonic() + ready_s
        while not _listening(setup.smsbox_port):
            if procs[0].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bearerbox did not start; see {setup.workdir}")
            time.sleep(0.1)
        procs.append(subprocess.Popen([str(SMSBOX), str(conf)], stdout=output, stderr=output))
        while not _listening(setup.sendsms_port):
            if procs[1].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"smsbox did not start; see {setup.workdir}")
            time.sleep(0.1)
        yield setup
    finally:
        for proc in reversed(procs):
            _stop(proc)
        output.close()
