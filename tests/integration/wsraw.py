"""A byte-level WebSocket client for tests that need to send what a real
client library would refuse to: bad frames, partial heads, no reads.

Every call is bounded by the socket timeout given to RawClient."""
import base64
import os
import socket
import struct
import zlib

KEY = base64.b64encode(b"0123456789abcdef").decode()


def upgrade_request(path="/echo", host="127.0.0.1", extra=""):
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n"
            f"Sec-WebSocket-Version: 13\r\n{extra}\r\n").encode()


def frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length_override=None):
    """One frame; client frames are masked unless mask=False."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload) if length_override is None else length_override
    if n < 126:
        head = struct.pack("!BB", first, (0x80 if mask else 0) | n)
    elif n < 65536:
        head = struct.pack("!BBH", first, (0x80 if mask else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", first, (0x80 if mask else 0) | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


DEFLATE_TAIL = b"\x00\x00\xff\xff"


def deflate(data):
    """One message's permessage-deflate payload (no context takeover)."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    assert payload.endswith(DEFLATE_TAIL)
    return payload[:-4]


def inflate(payload):
    return zlib.decompressobj(-15).decompress(payload + DEFLATE_TAIL)


def close_frame(code=None, reason=b""):
    payload = b"" if code is None else struct.pack("!H", code) + reason
    return frame(0x8, payload)


class RawClient:
    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""
        self.last_rsv = 0  # RSV bits of the last frame read_frame() returned

    def send(self, data):
        self.sock.sendall(data)

    def recv_some(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("server closed the connection")
        self.buffer += data

    def read_http_head(self):
        """Returns (status, headers dict lower-cased, body bytes so far)."""
        while b"\r\n\r\n" not in self.buffer:
            self.recv_some()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        self.buffer = rest
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    def read_http_response(self):
        """Reads a whole response (Content-Length bounded) and EOF."""
        status, headers = self.read_http_head()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self.recv_some()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, headers, body

    def handshake(self, path="/echo", extra=""):
        self.send(upgrade_request(path, extra=extra))
        status, headers = self.read_http_head()
        assert status == 101, status
        return headers

    def read_frame(self):
        """Returns (fin, opcode, payload) of the next server frame."""
        while True:
            if len(self.buffer) >= 2:
                b0, b1 = self.buffer[0], self.buffer[1]
                assert not b1 & 0x80, "server frames are never masked (WS-FR-02)"
                n, off = b1 & 0x7F, 2
                if n == 126 and len(self.buffer) >= 4:
                    n, off = struct.unpack("!H", self.buffer[2:4])[0], 4
                elif n == 127 and len(self.buffer) >= 10:
                    n, off = struct.unpack("!Q", self.buffer[2:10])[0], 10
                if (n < 126 or off > 2) and len(self.buffer) >= off + n:
                    payload = self.buffer[off:off + n]
                    self.buffer = self.buffer[off + n:]
                    self.last_rsv = (b0 >> 4) & 0x7
                    return bool(b0 & 0x80), b0 & 0x0F, payload
            self.recv_some()

    def read_close(self):
        """Skips data frames until a Close; returns (code or None, reason)."""
        while True:
            _, opcode, payload = self.read_frame()
            if opcode == 0x8:
                if len(payload) >= 2:
                    return struct.unpack("!H", payload[:2])[0], payload[2:]
                return None, b""

    def wait_eof(self):
        """True once the server has closed its side (EOF or reset)."""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()
