"""The client's I/O thread: one DEALER socket to every broker, owned by one
background thread. It keeps every job in flight (its SUBMIT until ACCEPTED),
resends a SUBMIT that got no answer and FETCHes an accepted job that went
quiet, as libmaas does (shared/wire/client.c), and settles each job's future
exactly once. Other threads talk to it through a command queue and an
inproc wake-up socket."""
from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

import zmq

from . import _wire
from .errors import JobFailed, MaasError, Overloaded, Rejected

log = logging.getLogger("maas")


class Pending:
    """One job in flight, as the I/O thread keeps it."""

    __slots__ = ("job", "header", "payload", "accepted", "submitted", "untracked", "news",
                 "slot")

    def __init__(self, job: Any, header: Optional[bytes], payload: Optional[bytes],
                 submitted: bool, untracked: bool, slot: bool) -> None:
        self.job = job                      # the Job future to settle
        self.header = header                # SUBMIT header until ACCEPTED
        self.payload = payload              # SUBMIT payload until ACCEPTED
        self.accepted = not submitted       # a fetch-only job is past ACCEPTED
        self.submitted = submitted          # False: awaited through FETCH only
        self.untracked = untracked          # FETCH cannot find it
        self.news = time.monotonic()        # last word about it
        self.slot = slot                    # holds a place in the window


class Engine:
    """The socket, the jobs in flight and the thread that serves them."""

    def __init__(self, endpoints: List[str], routing_id: str, retry_s: float,
                 window: int, curve: Optional[Tuple[bytes, bytes, bytes]] = None) -> None:
        self.context = zmq.Context()
        self.sock = self.context.socket(zmq.DEALER)
        if curve:       # before connect: a CURVE broker refuses plain peers
            self.sock.curve_publickey, self.sock.curve_secretkey, self.sock.curve_serverkey = curve
        self.sock.setsockopt(zmq.ROUTING_ID, routing_id.encode())
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.setsockopt(zmq.RCVHWM, 0)
        self.sock.setsockopt(zmq.LINGER, 0)
        for endpoint in endpoints:
            try:
                self.sock.connect(endpoint)
            except zmq.ZMQError as exc:
                self.close()
                raise MaasError(f"cannot connect to {endpoint!r}: {exc}") from None
        wake = f"inproc://maas-wake-{routing_id}"
        self.wake_rx = self.context.socket(zmq.PAIR)
        self.wake_rx.bind(wake)
        self.wake_tx = self.context.socket(zmq.PAIR)
        self.wake_tx.connect(wake)
        self.retry_s = retry_s
        self.window = threading.Semaphore(window)
        self.jobs: Dict[str, Pending] = {}  # id → Pending, I/O thread only
        self.commands: Deque[Tuple[str, Any]] = collections.deque()
        self.lock = threading.Lock()        # guards wake_tx and woken
        self.woken = False
        self.pings: List[Callable[[], None]] = []
        self.closing = False
        self.sweep_at = 0.0
        self.thread = threading.Thread(target=self._run, name="maas-io", daemon=True)
        self.thread.start()

    # -- called from any thread

    def post(self, command: str, arg: Any) -> None:
        """Queue COMMAND for the I/O thread and wake it if it sleeps."""
        self.commands.append((command, arg))
        with self.lock:
            if self.woken or self.closing:
                return
            self.woken = True
            self.wake_tx.send(b"", zmq.NOBLOCK)

    def on_io_thread(self) -> bool:
        return threading.current_thread() is self.thread

    def close(self) -> None:
        """Stop the thread, fail what is still awaited, close the sockets."""
        thread = getattr(self, "thread", None)
        if thread and thread.is_alive():
            self.post("close", None)
            if not self.on_io_thread():
                thread.join(5)
        with getattr(self, "lock", threading.Lock()):
            self.closing = True
        self.context.destroy(linger=0)

    # -- the I/O thread

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        poller.register(self.wake_rx, zmq.POLLIN)
        try:
            while not self.closing:
                events = dict(poller.poll(max(1, int(self.retry_s * 500))))
                if self.wake_rx in events:
                    self._take_commands()
                if self.sock in events:
                    self._drain()
                self._sweep()
        except zmq.ContextTerminated:
            pass
        finally:
            self._abandon()

    def _take_commands(self) -> None:
        with self.lock:
            self.woken = False
            try:
                while True:
                    self.wake_rx.recv(zmq.NOBLOCK)
            except zmq.Again:
                pass
        while self.commands:
            command, arg = self.commands.popleft()
            if command == "close":
                self.closing = True
                return
            getattr(self, "_cmd_" + command)(arg)

    def _cmd_submit(self, pending: Pending) -> None:
        self._await(pending, "submit: job {} is already in flight",
                    _wire.frames(_wire.SUBMIT, pending.header, pending.payload))

    def _cmd_fetch(self, pending: Pending) -> None:
        self._await(pending, "fetch: job {} is already awaited",
                    _wire.frames(_wire.FETCH, _wire.id_header(pending.job.id)))

    def _await(self, pending: Pending, busy: str, message: List[bytes]) -> None:
        """Keep PENDING and send MESSAGE, unless its id is awaited already."""
        job_id = pending.job.id
        if job_id in self.jobs:
            self._settle(pending, MaasError(busy.format(job_id)), owned=False)
            return
        self.jobs[job_id] = pending
        self._send(message, copy=False)

    def _cmd_cancel(self, job_id: str) -> None:
        self._send(_wire.frames(_wire.CANCEL, _wire.id_header(job_id)))

    def _cmd_ping(self, done: Callable[[], None]) -> None:
        self.pings.append(done)
        self._send(_wire.frames(_wire.PING, _wire.pack({})))

    def _send(self, frames: List[Any], copy: bool = True) -> bool:
        """Send FRAMES without blocking: with no broker connected (down, or
        refusing our CURVE key) a DEALER's send would block the I/O thread
        for good, and close() could then only tear the socket down under it.
        An unsent SUBMIT or FETCH goes again at the next sweep; an unsent
        PING is answered by its caller's timeout."""
        try:
            self.sock.send_multipart(frames, flags=zmq.NOBLOCK, copy=copy)
            return True
        except zmq.Again:
            return False

    def _drain(self) -> None:
        now = time.monotonic()
        for _ in range(10000):              # then let commands and the sweep in
            try:
                message = self.sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                self._handle(message, now)
            except Exception:               # a bad message must not stop the I/O thread
                log.exception("maas: message from broker not handled")

    def _handle(self, message: List[bytes], now: float) -> None:
        if len(message) < 3 or message[0] != _wire.TAG or len(message[1]) != 1:
            log.warning("maas: bad message from broker frames=%d", len(message))
            return
        command = message[1]
        if command == _wire.PONG:
            pings, self.pings = self.pings, []
            for done in pings:
                done()
            return
        try:
            header = _wire.unpack(message[2])
            job_id = header["id"]
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("maas: bad header from broker: %s", exc)
            return
        pending = self.jobs.get(job_id)
        if pending is None:
            return                          # a duplicate answer: already settled
        pending.news = now
        if command == _wire.ACCEPTED and not pending.accepted:
            pending.accepted = True         # the broker has it: from here on, FETCH
            pending.header = pending.payload = None
            pending.job._accepted()
        elif command == _wire.PROGRESS:
            pending.job._progress(header.get("progress"), header.get("message") or "")
        elif command == _wire.RESULT:
            payload = message[3] if len(message) > 3 else b""
            self._settle(pending, (header, payload))
        elif command == _wire.REJECTED:
            self._on_rejected(pending, header)

    def _on_rejected(self, pending: Pending, header: Dict[str, Any]) -> None:
        reason = str(header.get("reason") or "")
        error = str(header.get("error") or "rejected")
        if pending.accepted and reason == "unavailable":
            return                          # job store down: it is still there, ask later
        lost = pending.accepted and pending.submitted and reason == "unknown_job"
        if lost and not pending.untracked:
            return                          # a broker without it; the owner will answer
        job_id = pending.job.id
        if lost:
            self._settle(pending, JobFailed(job_id, "lost", error))
        else:
            kind = Overloaded if reason == "overloaded" else Rejected
            self._settle(pending, kind(job_id, reason, error))

    def _settle(self, pending: Pending, outcome: Any, owned: bool = True) -> None:
        """Hand OUTCOME (an exception, or (header, payload)) to the job once."""
        if owned:
            self.jobs.pop(pending.job.id, None)
        if pending.slot:
            pending.slot = False
            self.window.release()
        pending.job._settle(outcome)

    def _sweep(self) -> None:
        now = time.monotonic()
        if now < self.sweep_at:
            return
        self.sweep_at = now + self.retry_s / 2
        for pending in list(self.jobs.values()):
            if now - pending.news < self.retry_s:
                continue
            pending.news = now
            if not pending.accepted:
                self._send(_wire.frames(_wire.SUBMIT, pending.header, pending.payload), copy=False)
            else:
                self._send(_wire.frames(_wire.FETCH, _wire.id_header(pending.job.id)))

    def _abandon(self) -> None:
        closed = MaasError("client closed before the job's outcome arrived")
        for pending in list(self.jobs.values()):
            self._settle(pending, closed)
        while self.commands:
            command, arg = self.commands.popleft()
            if command in ("submit", "fetch"):
                self._settle(arg, closed, owned=False)
