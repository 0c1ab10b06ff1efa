"""A tiny loopback load balancer: a TCP proxy that hands each connection to the next backend.

    python -m benchmarks._balancer --port 8000 --backend 127.0.0.1:8001 --backend 127.0.0.1:8002

Round-robin per connection, as a layer-4 balancer does (no stickiness, no
health checks, no HTTP parsing): a client that keeps its connection alive
stays on one backend, the next connection goes to the next one. It stands in
for the reverse proxy of a real deployment, so the benchmarks can prove that
two gunicorn instances serve one shop. Prints ``ready`` once it listens and,
when stopped (SIGTERM or SIGINT), how many connections each backend took.
"""

import argparse
import asyncio
import contextlib
import itertools
import signal
import sys

CHUNK = 64 * 1024


class Balancer:
    """Accepts connections and pipes each one to the next of ``backends``."""

    def __init__(self, backends: list[tuple[str, int]]):
        if not backends:
            raise ValueError("at least one backend")
        self.backends = backends
        self._next = itertools.cycle(range(len(backends)))
        self.connections = [0] * len(backends)
        self.refused = 0

    async def handle(self, client_reader, client_writer) -> None:
        index = next(self._next)
        host, port = self.backends[index]
        try:
            backend_reader, backend_writer = await asyncio.open_connection(host, port)
        except OSError:
            self.refused += 1
            client_writer.close()
            return
        self.connections[index] += 1
        await asyncio.gather(
            _pipe(client_reader, backend_writer), _pipe(backend_reader, client_writer)
        )
        for writer in (backend_writer, client_writer):
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
        """Start listening; the server's ``sockets[0].getsockname()`` tells the port."""
        return await asyncio.start_server(self.handle, host, port, backlog=2048)

    def summary(self) -> str:
        taken = ", ".join(
            f"{host}:{port} {count}"
            for (host, port), count in zip(self.backends, self.connections, strict=True)
        )
        return f"balancer: connections per backend: {taken}; refused {self.refused}"


async def _pipe(reader, writer) -> None:
    """Copy until end of file, then pass the end on (half-close), as HTTP expects."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:  # a reset on either side ends this connection only
        writer.close()


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


async def _main(args) -> None:
    balancer = Balancer([_address(b) for b in args.backend])
    server = await balancer.serve(args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print("ready", flush=True)
    async with server:
        await stop.wait()
    print(balancer.summary(), file=sys.stderr, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backend", action="append", required=True, help="host:port")
    asyncio.run(_main(parser.parse_args()))
