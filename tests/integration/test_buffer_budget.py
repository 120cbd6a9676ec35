"""limits.worker_buffer_memory (issue 10 item 7): what a worker's
connections buffer together is bounded; past the budget the largest
holders are closed, 1009 for an unfinished incoming message and 1008 for
an output queue, and counted in closes_buffer_budget."""
import socket
import struct

from wsraw import RawClient

MiB = 1 << 20


def partial_frame(announced, sent):
    """A binary frame announcing `announced` payload bytes, with only `sent`
    of them (mask key 0, so the payload is sent as is)."""
    return struct.pack("!BBQ", 0x82, 0x80 | 127, announced) + b"\0\0\0\0" + b"x" * sent


def counter(gw, name):
    return gw.stats()["totals"][name]


def test_unfinished_messages_past_the_budget_close_the_largest_with_1009(gateway):
    gw = gateway(workers=1, extra={"limits": {"max_message": "4MiB", "max_frame": "4MiB",
                                              "worker_buffer_memory": "8MiB"}})
    clients = []
    for _ in range(4):
        client = RawClient(gw.port, timeout=10)
        client.handshake()
        client.send(partial_frame(3 * MiB + MiB // 2, 3 * MiB))
        clients.append(client)
    # 4 x 3 MiB held against 8 MiB: two must go, and no more.
    gw.wait_for(lambda: counter(gw, "closes_buffer_budget") >= 2, 10, message="two closed")
    closed, kept = [], []
    for client in clients:
        client.sock.settimeout(0.5)
        try:
            client.recv_some()
        except socket.timeout:
            kept.append(client)
            continue
        client.sock.settimeout(10)
        closed.append(client.read_close())
    assert closed == [(1009, b"worker buffer memory exhausted")] * 2
    assert len(kept) == 2
    # The others finish their messages and get them back.
    for client in kept:
        client.sock.settimeout(10)
        client.send(b"y" * (MiB // 2))
        fin, opcode, payload = client.read_frame()
        assert (fin, opcode, len(payload)) == (True, 0x2, 3 * MiB + MiB // 2)
        assert payload.endswith(b"x" + b"y" * (MiB // 2))
    assert counter(gw, "closes_buffer_budget") == 2
    gw.assert_logged("limits.worker_buffer_memory (8388608 bytes) exceeded")
    for client in clients:
        client.close()
    # Counted by cause once the connections are gone.
    gw.wait_for(lambda: counter(gw, "closes_too_big") == 2, 10, message="two 1009 closes")


def test_an_output_queue_past_the_budget_is_closed_with_1008(gateway):
    gw = gateway(workers=1, extra={"limits": {"max_message": "16MiB", "max_frame": "16MiB",
                                              "worker_buffer_memory": "8MiB"}})
    # A reads nothing (a small receive buffer, so the kernel takes little of
    # its 12 MiB echo): the echo waits in the worker's queue.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", gw.port))
    reader = RawClient.__new__(RawClient)
    reader.sock, reader.buffer = sock, b""
    reader.handshake()
    reader.send(partial_frame(12 * MiB, 12 * MiB))
    gw.wait_for(lambda: gw.stats()["totals"]["write_queue_bytes"] >= 7 * MiB, 20,
                message="A's echo queued")
    # B starts a 2 MiB message: with 1.5 MiB of it held too the budget is
    # passed (if A's queue alone had not passed it already), and A's queue
    # is the largest holder.
    writer = RawClient(gw.port, timeout=10)
    writer.handshake()
    writer.send(partial_frame(2 * MiB, 3 * MiB // 2))
    gw.wait_for(lambda: counter(gw, "closes_buffer_budget") == 1, 10, message="A closed")
    # A now reads: its echo, then our Close.
    fin, opcode, payload = reader.read_frame()
    assert (opcode, len(payload)) == (0x2, 12 * MiB)
    assert reader.read_close() == (1008, b"worker buffer memory exhausted")
    # B was not touched and completes its message.
    writer.send(b"z" * (MiB // 2))
    fin, opcode, payload = writer.read_frame()
    assert (fin, opcode, len(payload)) == (True, 0x2, 2 * MiB)
    assert counter(gw, "closes_buffer_budget") == 1
    reader.close()
    writer.close()
    gw.wait_for(lambda: counter(gw, "closes_policy") == 1, 10, message="one 1008 close")
