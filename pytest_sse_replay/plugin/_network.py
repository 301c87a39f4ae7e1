"""No silent network in replay: every connection that does not go through a cassette fails.

A client the cassette does not route (requests, aiohttp, urllib, a raw socket, an SDK that
switched its HTTP library) would otherwise reach the live service from CI without anyone
noticing. While a `NetworkGuard` is active, the lowest common step of every TCP client in
the process is checked before a packet is sent: `socket.socket.connect` / `connect_ex`
(asyncio's `loop.create_connection` and `sock_connect` end there, as does every blocking
client), `sendto` / `sendmsg` with an address (a UDP datagram needs no connect),
`socket.create_connection` (which still knows the host name) and `socket.getaddrinfo` /
`gethostbyname(_ex)` for host names (so a refused host is named before a DNS query
leaves). Allowed hosts (loopback by default) pass; the cassette's own recording path passes
through `recording()`.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import Any

from ..exceptions import NetworkEscape

__all__ = ["DEFAULT_ALLOW_HOSTS", "NetworkEscape", "NetworkGuard", "parse_allow_hosts", "recording"]

# Tests run local servers (this plugin's `sse_server` among them): loopback stays open.
DEFAULT_ALLOW_HOSTS = ("127.0.0.0/8", "::1", "localhost")


# Set while the cassette's own recording path sends a request: a context variable, so it
# follows the request into the async task or the thread that sends it, and nothing else.
_RECORDING: contextvars.ContextVar[bool] = contextvars.ContextVar("sse_recording", default=False)


@contextlib.contextmanager
def recording() -> Iterator[None]:
    """Connections made inside this block (the cassette recording) are never refused."""
    token = _RECORDING.set(True)
    try:
        yield
    finally:
        _RECORDING.reset(token)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_allow_hosts(
    values: Sequence[str], where: str
) -> tuple[tuple[Network, ...], frozenset[str]]:
    """Networks and host names from `sse_allow_hosts` entries; `none` closes every host."""
    entries = [v.strip() for value in values for v in value.replace(",", " ").split()]
    if not entries:
        entries = list(DEFAULT_ALLOW_HOSTS)
    if [e.lower() for e in entries] == ["none"]:
        return (), frozenset()
    if "none" in (e.lower() for e in entries):
        raise ValueError(f"{where}: 'none' closes every host and cannot be combined with others")
    networks: list[Network] = []
    names: set[str] = set()
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError as exc:
            # Only a host name is left: anything else ("10.0.0.0/33", "*.internal",
            # "host:8080") would be taken as a name that no host has, and open nothing.
            if not _HOST_NAME.fullmatch(entry) or _LOOKS_NUMERIC.fullmatch(entry):
                raise ValueError(
                    f"{where}: {entry!r} is neither a network (10.0.0.0/8), an address nor a "
                    f"host name (wildcards and ports are not supported): {exc}"
                ) from None
            names.add(entry.lower().rstrip("."))
    return tuple(networks), frozenset(names)


# Letters, digits, "-" and "_" in dot-separated labels (a trailing dot allowed).
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
# All digits and dots, or a "/": meant as an address or a network, and not one.
_LOOKS_NUMERIC = re.compile(r"[0-9.]+|.*/.*")


# Frames of these modules are how a connection is made, not who made it.
_PLUMBING = ("socket", "ssl", "selectors", "asyncio", "concurrent", "threading", "contextlib")
_OWN = __name__.partition(".")[0]  # the package, wherever in it this module sits


def _top(module: str) -> str:
    return module.partition(".")[0]


def who_connects(frame: FrameType | None) -> str:
    """The library that tried, from the stack: the first frame outside the socket plumbing,
    and the first other library that called it, e.g. "urllib3 (requests)"."""
    found: list[str] = []
    while frame is not None and len(found) < 2:
        module = str(frame.f_globals.get("__name__", ""))
        top = module.partition(".")[0]
        line = frame.f_lineno
        frame = frame.f_back
        if not module or top in _PLUMBING or top == _OWN:
            continue
        if found:
            if not _installed(module) and top not in sys.stdlib_module_names:
                break  # back in the test's own code: no library called the first one
            if top != found[0].partition(".")[0] and top not in sys.stdlib_module_names:
                found.append(top)
        elif top in sys.stdlib_module_names:
            found.append(module)  # http.client, urllib.request: the stdlib client itself
        elif _installed(module):
            found.append(top)
        else:
            # The test's own code (or a conftest) opened the socket itself.
            return f"socket (from {module}, line {line})"
    if not found:
        return "unknown (a worker thread?)"
    return found[0] if len(found) == 1 else f"{found[0]} ({found[1]})"


def _installed(module: str) -> bool:
    """Whether `module` is an installed library (not the stdlib, not the test's own code)."""
    path = str(getattr(sys.modules.get(module), "__file__", "") or "")
    return "site-packages" in path or "dist-packages" in path


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").partition("%")[0])
    except ValueError:
        return False
    return True


class NetworkGuard:
    """Refuses connections to hosts outside the allow list while active (process-wide).

    Every refusal is kept in `escapes`, so a test fails even when the code under test
    swallowed the exception.
    """

    def __init__(
        self,
        networks: Sequence[Network],
        names: frozenset[str],
        *,
        test: str = "",
    ) -> None:
        self.networks = tuple(networks)
        self.names = names
        self.test = test
        self.escapes: list[NetworkEscape] = []
        self._resolved: set[str] = set()  # addresses of allowed host names
        self._lock = threading.Lock()

    # -- the decision ----------------------------------------------------------------------

    def allows(self, host: str) -> bool:
        host = host.strip("[]").partition("%")[0].lower().rstrip(".")
        if host in self.names or host in self._resolved:
            return True
        if host.endswith(".localhost") and "localhost" in self.names:
            return True  # RFC 6761: every name under localhost is this machine
        address = _address(host)
        if address is None:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_unspecified:
            # Connecting to 0.0.0.0 or :: reaches this machine: judged as its loopback.
            address = ipaddress.ip_address("127.0.0.1" if address.version == 4 else "::1")
        return any(address in network for network in self.networks)

    def _check(self, host: str, port: int | None) -> None:
        if _RECORDING.get() or self.allows(host):
            return
        escape = NetworkEscape(host, port, who_connects(sys._getframe(1)), self.test)
        with self._lock:
            self.escapes.append(escape)
        raise escape

    def _check_address(self, sock: Any, address: Any) -> None:
        if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
            return  # Unix sockets and the like are not the network
        if isinstance(address, tuple) and address:
            port = address[1] if len(address) > 1 and isinstance(address[1], int) else None
            try:
                self._check(str(address[0]), port)
            except NetworkEscape:
                # Clients close a socket whose connect failed with an OSError only (urllib3,
                # http.client): this one would be left open, and warn when collected.
                sock.close()
                raise

    # -- the patches -----------------------------------------------------------------------

    @contextlib.contextmanager
    def active(self) -> Iterator[NetworkGuard]:
        guard = self
        connect = socket.socket.connect
        connect_ex = socket.socket.connect_ex
        create_connection = socket.create_connection
        sendto = socket.socket.sendto
        sendmsg = socket.socket.sendmsg
        getaddrinfo = socket.getaddrinfo

        def guarded_connect(self: socket.socket, address: Any) -> None:
            guard._check_address(self, address)
            connect(self, address)

        def guarded_connect_ex(self: socket.socket, address: Any) -> int:
            guard._check_address(self, address)
            return connect_ex(self, address)

        def guarded_sendto(self: socket.socket, data: Any, *args: Any) -> int:
            # sendto(data, address) / sendto(data, flags, address): a UDP datagram (a DNS
            # query of a resolver library, a metrics client) needs no connect to leave.
            if args:
                guard._check_address(self, args[-1])
            return sendto(self, data, *args)

        def guarded_sendmsg(self: socket.socket, *args: Any) -> int:
            if len(args) >= 4 and args[3] is not None:  # (buffers, ancdata, flags, address)
                guard._check_address(self, args[3])
            return sendmsg(self, *args)

        def guarded_create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
            host, port = address[0], address[1]
            if host is not None:
                guard._check(str(host), int(port) if str(port).isdigit() else None)
            return create_connection(address, *args, **kwargs)

        def guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(host, bytes):
                host = host.decode("ascii", "replace")
            if isinstance(host, str) and not _is_address(host):
                guard._check(host, port if isinstance(port, int) else None)
            infos = getaddrinfo(host, port, *args, **kwargs)
            if isinstance(host, str) and host.lower().rstrip(".") in guard.names:
                # Connections to what an allowed name resolves to are allowed too.
                with guard._lock:
                    guard._resolved.update(str(info[4][0]) for info in infos)
            return infos

        def guarded_by_name(lookup: Callable[[str], Any]) -> Callable[[str], Any]:
            # gethostbyname(_ex): older clients resolve with these, and the query leaves too.
            def guarded(host: str) -> Any:
                if isinstance(host, str) and not _is_address(host):
                    guard._check(host, None)
                found = lookup(host)
                if isinstance(host, str) and host.lower().rstrip(".") in guard.names:
                    addresses = [found] if isinstance(found, str) else found[2]
                    with guard._lock:
                        guard._resolved.update(addresses)
                return found

            return guarded

        patches: list[tuple[Any, str, Callable[..., Any]]] = [
            (socket, "gethostbyname", guarded_by_name(socket.gethostbyname)),
            (socket, "gethostbyname_ex", guarded_by_name(socket.gethostbyname_ex)),
            (socket.socket, "connect", guarded_connect),
            (socket.socket, "connect_ex", guarded_connect_ex),
            (socket.socket, "sendto", guarded_sendto),
            (socket.socket, "sendmsg", guarded_sendmsg),
            (socket, "create_connection", guarded_create_connection),
            (socket, "getaddrinfo", guarded_getaddrinfo),
        ]
        originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
        for owner, name, patched in patches:
            setattr(owner, name, patched)
        try:
            yield self
        finally:
            for owner, name, original in originals:
                setattr(owner, name, original)


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `host` names, IPv4 shorthand included ("127.1", "2130706433", which the
    socket layer accepts as 127.0.0.1); None for a host name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not host or not all(part.isdigit() for part in host.split(".")):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None
