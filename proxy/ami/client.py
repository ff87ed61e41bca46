"""An asyncio AMI client: typed actions, keep-alive, reconnect with backoff.

One background task owns the connection. It connects and logs in, then runs a
reader (routes every packet to :class:`PendingActions` or to event
subscribers), a keep-alive ``Ping`` and the connect hooks (``RouteReplica.
reconcile`` is one). When the link drops, everything in flight fails with
:class:`AmiUnavailable` and the task reconnects with exponential backoff. Callers
never see a socket, a thread or an asterisk-ami object: see ``transport.py`` for
why the library's own client is not used. The ``DB*`` actions live in ``astdb.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping

from proxy.ami.astdb import AstDbActions, DbEntry, EventSink, valid_key
from proxy.ami.errors import AmiActionFailed, AmiError, AmiTimeout, AmiUnavailable
from proxy.ami.events import EventHub, EventSubscription, filter_for
from proxy.ami.pending import BatchErrors, PendingActions
from proxy.ami.transport import AmiStream, encode_actions
from proxy.ami.types import AmiListResult, AmiMessage, AmiSettings

__all__ = ["AmiClient", "DbEntry", "valid_key"]

log = logging.getLogger(__name__)

ConnectHook = Callable[[], Awaitable[None]]
Opener = Callable[[str, int, float], Awaitable[AmiStream]]

PIPELINE_CHUNK = 256
"""Actions per write when pipelining (one buffer, one syscall)."""
PIPELINE_DEPTH = 8
"""Chunks awaiting their responses at once: up to 2,048 actions in flight."""


class AmiClient(AstDbActions):
    """The AMI link of one service. Create in the composition root, ``await start()``."""

    def __init__(self, settings: AmiSettings, opener: Opener = AmiStream.open) -> None:
        self._settings = settings
        self._opener = opener
        self._pending = PendingActions()
        self._hub = EventHub()
        self._hooks: list[ConnectHook] = []
        self._stream: AmiStream | None = None
        self._connected = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self.connections = 0
        """Successful logins so far; a reconnect increments it."""

    # -- lifecycle ---------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def add_connect_hook(self, hook: ConnectHook) -> None:
        """Run ``hook`` after every successful login (the first and each reconnect)."""
        self._hooks.append(hook)

    async def start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="ami-connection")

    async def wait_connected(self, timeout: float | None = None) -> None:
        limit = self._settings.connect_timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                await self._connected.wait()
        except TimeoutError as exc:
            raise self._unavailable("not connected") from exc

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            # Cancel until it sticks: a cancellation that lands while a connect
            # completes can be absorbed (asyncio on 3.11), leaving the task to
            # wait on a fresh reader forever.
            while not runner.done():
                runner.cancel()
                await asyncio.wait([runner], timeout=0.1)
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        self._pending.fail_all(self._unavailable("client closed"))

    async def __aenter__(self) -> AmiClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _unavailable(self, reason: str) -> AmiUnavailable:
        return AmiUnavailable(self._settings.host, self._settings.port, reason)

    async def _run(self) -> None:
        delay = self._settings.backoff_initial
        while True:
            try:
                stream = await self._login()
            except (OSError, TimeoutError, AmiError) as exc:
                reason = exc.reason if isinstance(exc, AmiUnavailable) else type(exc).__name__
                log.warning(
                    "AMI %s:%d: %s; retrying in %.2fs",
                    self._settings.host,
                    self._settings.port,
                    reason,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._settings.backoff_max)
                continue
            delay = self._settings.backoff_initial
            await self._serve(stream)

    async def _login(self) -> AmiStream:
        s = self._settings
        stream = await self._opener(s.host, s.port, s.connect_timeout)
        try:
            await stream.send(
                "Login",
                {"ActionID": "login", "Username": s.username, "Secret": s.secret, "Events": "off"},
            )
            async with asyncio.timeout(s.connect_timeout):
                while True:
                    reply = await stream.receive()
                    if reply.kind == "response" and reply.action_id == "login":
                        break
            if reply.is_error:
                raise self._unavailable(f"login as {s.username!r} refused")
        except BaseException:
            await stream.close()
            raise
        return stream

    async def _serve(self, stream: AmiStream) -> None:
        self._stream = stream
        reader = asyncio.create_task(self._read(stream), name="ami-reader")
        self._connected.set()
        self.connections += 1
        helpers = [
            asyncio.create_task(self._keepalive(stream), name="ami-keepalive"),
            asyncio.create_task(self._after_connect(), name="ami-connect-hooks"),
        ]
        try:
            await reader
        except (ConnectionError, OSError, AmiError) as exc:
            log.warning("AMI %s:%d link lost: %s", self._settings.host, self._settings.port, exc)
        finally:
            self._connected.clear()
            self._stream = None
            reader.cancel()
            for task in helpers:
                task.cancel()
            await asyncio.gather(reader, *helpers, return_exceptions=True)
            await stream.close()
            self._pending.fail_all(self._unavailable("connection lost"))

    async def _read(self, stream: AmiStream) -> None:
        while True:
            message = await stream.receive()
            if not self._pending.feed(message) and message.kind == "event":
                self._hub.publish(message)

    async def _keepalive(self, stream: AmiStream) -> None:
        while True:
            await asyncio.sleep(self._settings.ping_interval)
            try:
                await self.ping()
            except AmiError as exc:
                log.warning("AMI keep-alive failed (%s); reconnecting", exc)
                await stream.close()  # the reader sees EOF and _serve reconnects
                return

    async def _after_connect(self) -> None:
        if self._hub.names:
            await self._send_filters(self._hub.names)
        for hook in self._hooks:
            try:
                await hook()
            except AmiError as exc:
                log.warning("AMI connect hook %r failed: %s", hook, exc)
            except Exception:
                log.exception("AMI connect hook %r failed", hook)

    # -- actions -----------------------------------------------------------

    async def _send(
        self,
        name: str,
        headers: Mapping[str, str],
        is_list: bool,
        timeout: float | None,
        sink: EventSink | None = None,
    ) -> AmiListResult:
        limit = self._settings.action_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        started = loop.time()
        await self.wait_connected(limit)
        stream = self._stream
        if stream is None:
            raise self._unavailable("connection lost")
        action_id, future = self._pending.register(is_list, sink)
        try:
            await stream.send(name, {"ActionID": action_id, **headers})
            wait = max(limit - (loop.time() - started), 0.001)
            while True:
                seen = self._pending.received(action_id)
                done, _ = await asyncio.wait([future], timeout=wait)
                if done:
                    return future.result()
                # A long list (a 10^6-row DBGetTree) may take longer than the limit:
                # it times out only after ``limit`` seconds without a new event.
                if self._pending.received(action_id) == seen:
                    raise AmiTimeout(self._settings.host, self._settings.port, name, limit)
                wait = limit
        except (ConnectionError, OSError) as exc:
            raise self._unavailable("connection lost") from exc
        finally:
            self._pending.discard(action_id)

    async def action(
        self, name: str, headers: Mapping[str, str] | None = None, timeout: float | None = None
    ) -> AmiMessage:
        """Send one action; return its response or raise :class:`AmiActionFailed`."""
        result = await self._send(name, headers or {}, is_list=False, timeout=timeout)
        if result.response.is_error:
            raise AmiActionFailed(name, result.response.headers.get("Message", ""))
        return result.response

    async def list_action(
        self,
        name: str,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        sink: EventSink | None = None,
    ) -> AmiListResult:
        """Send a list-style action; return after its ``EventList: Complete`` event.

        With ``sink``, each event is handed to it as it arrives instead of being
        kept in the result. ``timeout`` bounds the wait for the response and then
        for each next event, not the whole list.
        """
        result = await self._send(name, headers or {}, is_list=True, timeout=timeout, sink=sink)
        if result.response.is_error:
            raise AmiActionFailed(name, result.response.headers.get("Message", ""))
        return result

    async def pipeline(
        self, name: str, actions: Iterable[Mapping[str, str]]
    ) -> list[tuple[int, AmiMessage]]:
        """Send many non-list actions of one kind without waiting for each answer.

        They go out in writes of ``PIPELINE_CHUNK`` with up to ``PIPELINE_DEPTH``
        writes unanswered; each write must be answered within the action timeout.
        Returns the error responses with each action's index in ``actions``. On
        :class:`AmiUnavailable` or :class:`AmiTimeout` every action before the
        unanswered write is done and later ones may or may not be: send them again
        (only idempotent actions belong here).
        """
        limit = self._settings.action_timeout
        await self.wait_connected(limit)
        window: deque[tuple[list[str], asyncio.Future[BatchErrors], int]] = deque()
        failures: list[tuple[int, AmiMessage]] = []
        source = iter(actions)
        offset = 0
        try:
            while part := list(itertools.islice(source, PIPELINE_CHUNK)):
                while len(window) >= PIPELINE_DEPTH:
                    failures += await self._settle(name, window.popleft(), limit)
                stream = self._stream
                if stream is None:
                    raise self._unavailable("connection lost")
                ids, future = self._pending.register_batch(len(part))
                window.append((ids, future, offset))
                await stream.send_raw(encode_actions(name, zip(ids, part, strict=True)))
                offset += len(part)
            while window:
                failures += await self._settle(name, window.popleft(), limit)
        except (ConnectionError, OSError) as exc:
            raise self._unavailable("connection lost") from exc
        finally:
            for ids, _, _ in window:
                self._pending.discard_batch(ids)
        return failures

    async def _settle(
        self, name: str, sent: tuple[list[str], asyncio.Future[BatchErrors], int], limit: float
    ) -> list[tuple[int, AmiMessage]]:
        ids, future, offset = sent
        try:
            async with asyncio.timeout(limit):
                errors = await future
        except TimeoutError as exc:
            raise AmiTimeout(self._settings.host, self._settings.port, name, limit) from exc
        finally:
            self._pending.discard_batch(ids)
        return [(offset + index, message) for index, message in errors]

    async def ping(self) -> None:
        await self.action("Ping")

    async def command(self, command: str) -> list[str]:
        """Run a CLI command (needs the ``command`` write class, which we do not grant)."""
        response = await self.action("Command", {"Command": command})
        return response.headers.get("Output", "").splitlines()

    # -- events ------------------------------------------------------------

    async def _send_filters(self, names: Collection[str]) -> None:
        for name in sorted(names):
            await self.action("Filter", {"Operation": "Add", "Filter": filter_for(name)})
        await self.action("Events", {"EventMask": "on"})

    @contextlib.asynccontextmanager
    async def subscribe(
        self, names: Collection[str], maxsize: int = 1000
    ) -> AsyncIterator[EventSubscription]:
        """Receive the named events while the block runs (across reconnects)."""
        subscription = EventSubscription(names, maxsize)
        new = self._hub.add(subscription)
        try:
            if new and self.connected:
                await self._send_filters(new)
            yield subscription
        finally:
            self._hub.remove(subscription)
