"""Protocol errors through the real binary get the right close code, and
the close handshake behaves (WS-CL-01, WS-CL-06, WS-CL-07, SEC-LIM-05..09)."""
import struct

from wsraw import RawClient, close_frame, frame


def open_client(gw):
    c = RawClient(gw.port)
    c.handshake()
    return c


def test_WS_CL_01_server_answers_close_and_closes_tcp_first(gateway):
    gw = gateway(workers=1)
    c = open_client(gw)
    c.send(close_frame(4001, b"bye"))
    assert c.read_close() == (4001, b"")
    assert c.wait_eof()  # the server sends its FIN without waiting for ours


def test_WS_FR_01_unmasked_frame_closes_with_1002(gateway):
    gw = gateway(workers=1)
    c = open_client(gw)
    c.send(frame(0x1, b"hi", mask=False))
    assert c.read_close()[0] == 1002
    assert c.wait_eof()


def test_WS_U8_01_invalid_utf8_closes_with_1007(gateway):
    gw = gateway(workers=1)
    c = open_client(gw)
    c.send(frame(0x1, b"ok\xed\xa0\x80"))
    assert c.read_close()[0] == 1007


def test_WS_FR_07_nothing_processed_after_a_failure(gateway):
    gw = gateway(workers=1)
    c = open_client(gw)
    c.send(frame(0x1, b"first") + frame(0x1, b"x", rsv=1) + frame(0x9, b"late ping"))
    assert c.read_frame() == (True, 0x1, b"first")
    fin, opcode, payload = c.read_frame()
    assert opcode == 0x8 and struct.unpack("!H", payload[:2])[0] == 1002  # no pong first
    assert c.wait_eof()


def test_SEC_LIM_05_WS_SEC_02_frame_over_max_frame_closes_with_1009(gateway):
    gw = gateway(workers=1, extra={"limits": {"max_frame": "1KiB", "max_message": "4KiB"}})
    c = open_client(gw)
    c.send(frame(0x2, b"a" * 1024))
    assert c.read_frame() == (True, 0x2, b"a" * 1024)  # limit itself passes
    c.send(frame(0x2, b"a" * 1025))
    assert c.read_close()[0] == 1009
    c.close()  # the server counts the close once the TCP connection is gone
    totals = gw.wait_for(lambda: (t := gw.stats()["totals"])["closes_too_big"] >= 1 and t, 5)
    assert totals["closes_too_big"] == 1


def test_SEC_LIM_07_too_many_fragments_closes_with_1008(gateway):
    gw = gateway(workers=1, extra={"limits": {"max_fragments": 4}})
    c = open_client(gw)
    c.send(frame(0x1, b"a", fin=False) + frame(0x0, b"", fin=False) * 2 + frame(0x0, b"b"))
    assert c.read_frame() == (True, 0x1, b"ab")
    c.send(frame(0x1, b"a", fin=False) + frame(0x0, b"", fin=False) * 3 + frame(0x0, b"b"))
    assert c.read_close()[0] == 1008


def test_SEC_LIM_09_ping_flood_closes_with_1008(gateway):
    gw = gateway(workers=1, extra={"limits": {"control_frames_per_second": 1,
                                              "control_frames_burst": 5}})
    c = open_client(gw)
    c.send(frame(0x9, b"p") * 5)
    for _ in range(5):
        assert c.read_frame() == (True, 0xA, b"p")  # WS-CT-02: identical pongs
    c.send(frame(0x9, b"p"))
    assert c.read_close()[0] == 1008


def test_WS_CL_06_close_timeout_aborts_a_silent_peer(gateway):
    gw = gateway(workers=1, extra={"timeouts": {"idle": "300ms", "close": "300ms"}})
    c = open_client(gw)
    # The idle timeout starts the close handshake; this client never answers
    # the Close, so the server aborts after timeouts.close.
    assert c.read_close()[0] == 1001
    assert c.wait_eof()
