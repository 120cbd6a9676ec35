"""limits.max_connections_per_ip and limits.handshakes_per_ip_per_second
(issue 10 item 7, checklist SEC-LIM-11 and SEC-LIM-12): each at its limit
and one past it, over 4 workers (the supervisor steers each client
address to one worker, so the counts hold over all of them), with other
addresses (127.0.0.2) counted apart."""
import socket

from wsraw import RawClient, upgrade_request


def connect_from(port, source="127.0.0.1"):
    client = RawClient.__new__(RawClient)
    client.sock = socket.create_connection(("127.0.0.1", port), timeout=10,
                                           source_address=(source, 0))
    client.buffer = b""
    return client


def upgraded(client):
    client.send(upgrade_request())
    status, headers = client.read_http_head()
    return status, headers


def counter(gw, name):
    return gw.stats()["totals"][name]


def test_connections_per_ip_at_the_limit_and_one_more(gateway):
    gw = gateway(workers=4, extra={"limits": {"max_connections_per_ip": 3}})
    gw.assert_logged("per-IP limits on: each client address is steered to one worker")
    held = []
    for _ in range(3):
        client = connect_from(gw.port)
        assert upgraded(client)[0] == 101
        held.append(client)
    # The fourth, whichever worker the 4-tuple hash would have picked.
    fourth = connect_from(gw.port)
    fourth.send(upgrade_request())
    status, headers, body = fourth.read_http_response()
    assert (status, headers["retry-after"]) == (503, "1")
    assert body == b"too many connections from this address\n"
    assert fourth.wait_eof()
    # Another address is counted apart.
    other = connect_from(gw.port, "127.0.0.2")
    assert upgraded(other)[0] == 101
    # One closed, one more is let in (once the worker has seen the close).
    held.pop().close()

    def admitted():
        client = connect_from(gw.port)
        status, _ = upgraded(client)
        if status == 101:
            held.append(client)
            return True
        client.close()
        return False

    gw.wait_for(admitted, 10, interval=0.1, message="a connection once one closed")
    assert counter(gw, "refused_per_ip_connections") >= 1
    for client in held + [fourth, other]:
        client.close()


def test_handshakes_per_ip_at_the_limit_and_one_more(gateway):
    # 3 a second: a bucket of 3, one more token every 333 ms. The four
    # connections are opened back to back, well inside 333 ms.
    gw = gateway(workers=4, extra={"limits": {"handshakes_per_ip_per_second": 3}})
    clients = [connect_from(gw.port) for _ in range(4)]
    statuses = []
    for client in clients:
        client.send(upgrade_request())
        statuses.append(client.read_http_head()[0])
    assert sorted(statuses) == [101, 101, 101, 429]
    refused = clients[statuses.index(429)]
    assert refused.wait_eof()
    # Another address has its own bucket.
    other = connect_from(gw.port, "127.0.0.2")
    assert upgraded(other)[0] == 101
    assert counter(gw, "refused_per_ip_handshakes") == 1
    gw.wait_for(lambda: "status=429 " in gw.access_log(), 10, message="the 429 in the access log")
    for client in clients + [other]:
        client.close()


def test_limits_off_spread_connections_over_workers(gateway):
    # Without per-IP limits nothing is steered: one address reaches every
    # worker, as the kernel's 4-tuple hash spreads it.
    gw = gateway(workers=4)
    clients = []
    for _ in range(40):
        client = connect_from(gw.port)
        assert upgraded(client)[0] == 101
        clients.append(client)
    gw.wait_for(lambda: sum(1 for w in gw.stats()["workers"]
                            if w["connections_active"] > 0) >= 3, 10,
                message="connections on several workers")
    for client in clients:
        client.close()
