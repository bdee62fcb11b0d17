"""A local SMSC on the smpp34 package: `python app.py smsc-sim`, and the tests' peer.

smpp34's server accepts every bind and answers a bind_receiver session's
deliver_sm_resp with an error, so the simulator puts a small relay in front:
it checks system_id/password (wrong ones get ESME_RINVPASWD), presents a
bind_receiver to smpp34 as a transceiver, sets TCP_NODELAY, and can drop every
connection at once. MOs and receipts are re-delivered until acknowledged with
ESME_ROK, as a real SMSC does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import socket
import struct
import sys
import threading
import time
from collections.abc import Awaitable, Coroutine, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import smpp34

from gateway.smpp.codec import decode_text
from gateway.smpp.mo import split_udh

log = logging.getLogger(__name__)

BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER = 0x00000001, 0x00000002, 0x00000009
ENQUIRE_LINK = 0x00000015
UNBIND = 0x00000006
RESP = 0x80000000
SUBMIT_SM_RESP = 0x80000004
ESME_RINVPASWD = 0x0000000E
REDELIVER_AFTER_S = 0.2
DELIVER_TIMEOUT_S = 5.0
ORDER_WAIT_S = 5.0  # how long a receipt waits for its submit_sm_resp (or, early, the reverse)
IdFormat = Literal["dec", "hex", "empty", "hex-dec"]
ReceiptStyle = Literal["tlv", "text", "none"]
T = TypeVar("T")


@dataclass(frozen=True)
class Submitted:
    """A submit_sm the simulator accepted."""

    session_id: str
    source_addr: str
    destination_addr: str
    data_coding: int
    esm_class: int
    short_message: bytes
    message_id: str
    at: float = field(default_factory=time.monotonic)  # when it arrived (for latency)

    def text(self) -> str:
        body = split_udh(self.short_message)[1] if self.esm_class & 0x40 else self.short_message
        return decode_text(self.data_coding, body) or ""


@dataclass
class Mo:
    """A deliver_sm to push (MO or receipt) and what became of it."""

    source_addr: str
    destination_addr: str
    short_message: bytes
    options: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    statuses: list[int] = field(default_factory=list)  # each deliver_sm_resp's command_status
    pushed_at: float = field(default_factory=time.monotonic)
    acked: asyncio.Event = field(default_factory=asyncio.Event)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _at_most(waiting: Awaitable[Any], timeout_s: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(waiting, timeout_s)


async def _read_pdu(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readexactly(4)
    (length,) = struct.unpack(">L", head)
    return head + await reader.readexactly(max(0, length - 4))


def _cstrings(body: bytes, count: int) -> list[str]:
    return [part.decode("latin-1") for part in body.split(b"\x00")[:count]]


class Simulator:
    """The SMSC. Run `start()` inside an event loop (or use SimulatorThread)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 2775,
        *,
        system_id: str = "lapor",
        password: str = "secret",
        ids: IdFormat = "dec",
        receipts: ReceiptStyle = "tlv",
        window: int = 50,
    ) -> None:
        self.host, self.port = host, port
        self.system_id, self.password = system_id, password
        self.ids, self.receipts = ids, receipts
        self.window = window
        self.submitted: list[Submitted] = []
        self.refused_binds = 0
        self.binds: list[str] = []  # bind command names, in order
        self.unbinds = 0  # the ESMEs' unbind: how a well-behaved one says goodbye
        self.mute_enquire_link = False  # swallow the ESMEs' enquire_link, as a hung SMSC does
        # Receipts follow their submit_sm_resp on the wire, as an SMSC's do (smpp34 writes its
        # responses and deliver_sm on tasks of its own, in no set order). Early: each receipt
        # is acknowledged before its submit_sm_resp is sent, as some SMSCs do under load.
        self.early_receipts = False
        self._in_order: dict[str, asyncio.Event] = {}  # message_id -> the first of the two is out
        self._throttle = 0
        self.answer_after_s = 0.0  # each submit_sm answered this late, as a busy SMSC does
        self._counter = itertools.count(1000)
        self._receivers: dict[str, smpp34.Esme] = {}
        self._connections: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pending: asyncio.Queue[Mo] | None = None

    # -- control ----------------------------------------------------------------------
    def throttle(self, count: int) -> None:
        """Answer the next `count` submit_sm with ESME_RTHROTTLED."""
        self._throttle = count

    async def push(self, source_addr: str, short_message: bytes, **options: Any) -> Mo:
        """Queue a deliver_sm for the bound receiver; re-delivered until ESME_ROK."""
        mo = Mo(source_addr, options.pop("destination_addr", "1708"), short_message, options)
        assert self._pending is not None
        await self._pending.put(mo)
        return mo

    async def drop(self) -> None:
        """Cut every connection at once, as an SMSC that crashes or a broken link does."""
        for writer in list(self._connections):
            writer.transport.abort()
        self._connections.clear()

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Listen; with port 0 on a port the system picks, in `port` once started."""
        self._pending = asyncio.Queue()
        await self._start_inner()
        self._relay = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._relay.sockets[0].getsockname()[1]
        self._spawn(self._serve())
        self._spawn(self._deliver_loop())
        log.info(
            "SMSC simulator listening on %s:%d (system_id %r)", self.host, self.port, self.system_id
        )

    async def _start_inner(self, attempts: int = 5) -> None:
        """The smpp34 server behind the relay, on a free loopback port.

        smpp34 cannot be asked for the port it bound, so one is picked first,
        and picked again if another process took it meanwhile.
        """
        for attempt in range(attempts):
            self._inner_port = free_port()
            self._server = smpp34.Server("127.0.0.1", self._inner_port, system_id="LAPORSIM")
            try:
                await self._server.start()
                return
            except smpp34.SmppError:
                if attempt == attempts - 1:
                    raise

    async def stop(self) -> None:
        self._relay.close()
        await self.drop()
        for task in list(self._tasks):
            task.cancel()
        await self._server.stop()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the relay ----------------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _nodelay(writer)
        try:
            bind = await _read_pdu(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        length, command, _status, sequence = struct.unpack(">LLLL", bind[:16])
        system_id, password = _cstrings(bind[16:], 2)
        if command not in (BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER) or (
            (system_id, password) != (self.system_id, self.password)
        ):
            self.refused_binds += 1
            writer.write(struct.pack(">LLLL", 16, command | RESP, ESME_RINVPASWD, sequence))
            await writer.drain()
            writer.close()
            return
        self.binds.append({BIND_RECEIVER: "rx", BIND_TRANSMITTER: "tx"}.get(command, "trx"))
        as_receiver = command == BIND_RECEIVER
        if as_receiver:  # smpp34 mishandles receivers; it sees a transceiver
            bind = struct.pack(">LLLL", length, BIND_TRANSCEIVER, 0, sequence) + bind[16:]
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._inner_port)
        _nodelay(up_writer)
        self._connections.update((writer, up_writer))
        up_writer.write(bind)
        await asyncio.gather(
            self._pipe(reader, up_writer, None, esme=writer),
            self._pipe(
                up_reader,
                writer,
                (BIND_TRANSCEIVER | RESP, BIND_RECEIVER | RESP) if as_receiver else None,
            ),
        )

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        rewrite: tuple[int, int] | None,
        esme: asyncio.StreamWriter | None = None,
    ) -> None:
        """Relay PDUs one way; `esme`: this way is from the ESME, which that writer answers."""
        try:
            while True:
                pdu = await _read_pdu(reader)
                command = struct.unpack(">L", pdu[4:8])[0]
                if esme and command == ENQUIRE_LINK and self.mute_enquire_link:
                    continue
                if esme and command == UNBIND:  # smpp34 closes without an unbind_resp
                    self.unbinds += 1
                    resp = struct.pack(">LLL", 16, UNBIND | RESP, 0) + pdu[12:16]  # same sequence
                    esme.write(resp)
                    await esme.drain()
                if rewrite and command == rewrite[0]:
                    pdu = pdu[:4] + struct.pack(">L", rewrite[1]) + pdu[8:]
                    rewrite = None
                first_out = (
                    self._in_order.pop(_cstrings(pdu[16:], 1)[0], None)
                    if command == SUBMIT_SM_RESP
                    else None
                )
                if first_out is not None and self.early_receipts:
                    self._spawn(self._write_after(first_out, writer, pdu))
                    continue
                writer.write(pdu)
                await writer.drain()
                if first_out is not None:
                    first_out.set()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self._connections.discard(writer)
            writer.transport.abort()

    @staticmethod
    async def _write_after(
        first_out: asyncio.Event, writer: asyncio.StreamWriter, pdu: bytes
    ) -> None:
        """An early receipt's submit_sm_resp, once the receipt is acknowledged."""
        await _at_most(first_out.wait(), ORDER_WAIT_S)
        if not writer.is_closing():
            writer.write(pdu)

    # -- the SMSC -----------------------------------------------------------------------
    async def _serve(self) -> None:
        while True:
            event = await self._server.next()
            if isinstance(event, smpp34.Esme):
                if event.can_receive:
                    self._receivers[event.session_id] = event
            elif isinstance(event, smpp34.Unbound):
                self._receivers.pop(event.session_id, None)
            elif isinstance(event, smpp34.SubmitSmEvent):
                self._on_submit(event)

    def _message_id(self, number: int, for_receipt: bool) -> str:
        if self.ids == "empty":
            return ""
        if self.ids == "dec" or (self.ids == "hex-dec" and for_receipt):
            return str(number)
        return format(number, "X")

    def _on_submit(self, event: smpp34.SubmitSmEvent) -> None:
        if self._throttle > 0:
            self._throttle -= 1
            event.reject(smpp34.ESME_RTHROTTLED)
            return
        if self.answer_after_s:
            self._spawn(self._take_later(event, self.answer_after_s))
            return
        self._take(event)

    async def _take_later(self, event: smpp34.SubmitSmEvent, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        self._take(event)

    def _take(self, event: smpp34.SubmitSmEvent) -> None:
        number = next(self._counter)
        message_id = self._message_id(number, for_receipt=False)
        receipt = event.registered_delivery & 1 and self.receipts != "none" and self.ids != "empty"
        if receipt:
            first_out = self._in_order[message_id] = asyncio.Event()
        event.accept(message_id)
        self.submitted.append(
            Submitted(
                event.session_id,
                event.source_addr,
                event.destination_addr,
                event.data_coding,
                event.esm_class,
                event.short_message,
                message_id,
            )
        )
        if receipt:
            self._spawn(self._receipt(event, message_id, self._message_id(number, True), first_out))

    async def _receipt(
        self, event: smpp34.SubmitSmEvent, resp_id: str, message_id: str, first_out: asyncio.Event
    ) -> None:
        """The receipt's deliver_sm after its submit_sm_resp, or (early) the other way round."""
        if self.early_receipts:
            mo = await self._push_receipt(event, message_id)
            await _at_most(mo.acked.wait(), ORDER_WAIT_S)
            first_out.set()
        else:
            await _at_most(first_out.wait(), ORDER_WAIT_S)
            await self._push_receipt(event, message_id)
        self._in_order.pop(resp_id, None)  # a response that never reached the relay

    async def _push_receipt(self, event: smpp34.SubmitSmEvent, message_id: str) -> Mo:
        if self.receipts == "tlv":
            return await self.push(
                event.destination_addr,
                b"",
                destination_addr=event.source_addr,
                esm_class=0x04,
                tlvs=[
                    smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\x00"),
                    smpp34.Tlv(smpp34.TLV_MESSAGE_STATE, b"\x02"),
                ],
            )
        stamp = time.strftime("%y%m%d%H%M")
        text = (
            f"id:{message_id} sub:001 dlvrd:001 submit date:{stamp} done date:{stamp} "
            "stat:DELIVRD err:000 text:"
        )
        return await self.push(
            event.destination_addr,
            text.encode(),
            destination_addr=event.source_addr,
            esm_class=0x04,
        )

    async def _deliver_loop(self) -> None:
        assert self._pending is not None
        slots = asyncio.Semaphore(self.window)
        while True:
            mo = await self._pending.get()
            await slots.acquire()
            self._spawn(self._deliver(mo, slots))

    async def _deliver(self, mo: Mo, slots: asyncio.Semaphore) -> None:
        try:
            while not self._receivers:
                await asyncio.sleep(0.05)
            esme = next(iter(self._receivers.values()))
            mo.attempts += 1
            try:
                resp = await asyncio.wait_for(
                    esme.deliver_sm(
                        mo.destination_addr,
                        mo.short_message,
                        source_addr=mo.source_addr,
                        **mo.options,
                    ),
                    DELIVER_TIMEOUT_S,
                )
                mo.statuses.append(resp.command_status)
                ok = resp.is_success
            except (TimeoutError, smpp34.SmppError, RuntimeError, OSError):
                ok = False
        finally:
            slots.release()
        if ok:
            mo.acked.set()
            return
        await asyncio.sleep(REDELIVER_AFTER_S)
        assert self._pending is not None
        await self._pending.put(mo)


class SimulatorThread:
    """The simulator on its own event loop in a background thread (for tests and the CLI)."""

    def __init__(self, simulator: Simulator) -> None:
        self.sim = simulator
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="smsc-sim", daemon=True)

    def __enter__(self) -> SimulatorThread:
        self._thread.start()
        self.call(self.sim.start())
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.call(self.sim.stop(), timeout_s=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def call(self, coro: Coroutine[Any, Any, T], timeout_s: float = 10) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout_s)

    def push(self, source_addr: str, short_message: bytes, **options: Any) -> Mo:
        return self.call(self.sim.push(source_addr, short_message, **options))

    def drop(self) -> None:
        self.call(self.sim.drop())

    def throttle(self, count: int) -> None:
        self.loop.call_soon_threadsafe(self.sim.throttle, count)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="app.py smsc-sim",
        description="A local SMSC. Type 'MSISDN text' lines to send MOs; MTs are printed.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2775)
    parser.add_argument("--system-id", default="lapor")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--ids", choices=["dec", "hex", "empty", "hex-dec"], default="dec")
    parser.add_argument("--receipts", choices=["tlv", "text", "none"], default="tlv")
    return parser


def _print_mts(sim: Simulator, stop: threading.Event) -> None:
    seen = 0
    while not stop.wait(0.2):
        for submitted in sim.submitted[seen:]:
            print(f"MT to {submitted.destination_addr}: {submitted.text()}", flush=True)
            seen += 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator until Ctrl-C or end of input."""
    args = _parser().parse_args(argv)
    sim = Simulator(
        args.host,
        args.port,
        system_id=args.system_id,
        password=args.password,
        ids=args.ids,
        receipts=args.receipts,
    )
    stop = threading.Event()
    with SimulatorThread(sim) as running:
        threading.Thread(target=_print_mts, args=(sim, stop), daemon=True).start()
        print(
            f"SMSC simulator on {args.host}:{args.port}; system_id={args.system_id!r}; "
            "type 'MSISDN text' to send an MO",
            flush=True,
        )
        try:
            for line in sys.stdin:
                sender, _, text = line.strip().partition(" ")
                if sender and text:
                    running.push(sender, text.encode("utf-16-be"), data_coding=8)
        except KeyboardInterrupt:
            pass
        stop.set()
    return 0
