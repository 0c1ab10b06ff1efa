"""The benchmarks' loopback balancer: each connection to the next backend, bytes intact."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from benchmarks._balancer import Balancer


def _run(scenario):
    """Run the scenario on an event loop of its own thread: another test (Playwright's
    sync API) may have left a loop running on this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, scenario()).result(timeout=30)


async def _backend(name: bytes):
    """A server that answers every request line with its name and what it read."""

    async def answer(reader, writer):
        while line := await reader.readline():
            writer.write(name + b" " + line)
            await writer.drain()
        writer.write(name + b" bye\n")  # after the client's half-close
        await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", 0)


def _port(server) -> int:
    return server.sockets[0].getsockname()[1]


async def _talk(port: int, lines: list[bytes]) -> list[bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answers = []
    for line in lines:
        writer.write(line)
        await writer.drain()
        answers.append(await reader.readline())
    writer.write_eof()
    answers.append(await reader.readline())
    writer.close()
    return answers


def test_connections_go_round_robin_and_keep_their_backend():
    async def scenario():
        a, b = await _backend(b"A"), await _backend(b"B")
        balancer = Balancer([("127.0.0.1", _port(a)), ("127.0.0.1", _port(b))])
        server = await balancer.serve()
        port = _port(server)
        answers = [await _talk(port, [b"one\n", b"two\n"]) for _ in range(3)]
        server.close()
        return answers, balancer.connections

    answers, connections = _run(scenario)

    assert answers == [
        [b"A one\n", b"A two\n", b"A bye\n"],
        [b"B one\n", b"B two\n", b"B bye\n"],
        [b"A one\n", b"A two\n", b"A bye\n"],
    ]
    assert connections == [2, 1]


def test_a_backend_that_is_down_closes_the_connection_only():
    async def scenario():
        a = await _backend(b"A")
        dead = await _backend(b"dead")
        dead_port = _port(dead)
        dead.close()
        await dead.wait_closed()
        balancer = Balancer([("127.0.0.1", dead_port), ("127.0.0.1", _port(a))])
        server = await balancer.serve()
        reader, writer = await asyncio.open_connection("127.0.0.1", _port(server))
        refused = await reader.read()  # closed without a byte
        writer.close()
        served = await _talk(_port(server), [b"hi\n"])
        server.close()
        return refused, served, balancer.refused

    refused, served, count = _run(scenario)

    assert refused == b""
    assert served == [b"A hi\n", b"A bye\n"]
    assert count == 1
