"""Test fixture for a gateway relay that speaks OpenSRF over Redis
(docs: /work/shared/specs/opensrf-redis.md, section 1).

redis_server(tmp_path) runs a real redis-server on a free port bound to
127.0.0.1 and ::1 only, in its own process group, with the OpenSRF ACL
accounts: "default" is off; "gateway" may only LPOP, BLPOP, RPUSH and DEL
keys under opensrf:router:* and opensrf:client:*; "opensrf" (router,
listener, drones) may do everything. The server is killed and reaped, and
its process group is gone, when the context exits.

RedisServer.monitor() records the commands the gateway account sends
(MONITOR, with CLIENT LIST telling which connections are the gateway's).
The fake router, listener and drones are in opensrf_fake.py.
"""
import contextlib
import os
import secrets
import signal
import subprocess
import threading
import time

import redis

import upstreams
from conftest import wait_for
from peer_daemon import group_alive

REDIS_SERVER = "/usr/bin/redis-server"
START_TIMEOUT = 10.0
GATEWAY_ACL = "-@all +lpop +blpop +rpush +del ~opensrf:router:* ~opensrf:client:*"


class RedisServer:
    """One redis-server on a fixed port; restart() keeps port and accounts."""

    def __init__(self, tmp_path):
        self.dir = str(tmp_path)
        self.host = "127.0.0.1"
        self.port = upstreams.refused_port()
        self.gateway_password = secrets.token_hex(8)
        self.opensrf_password = secrets.token_hex(8)
        self.process = None
        self.aclfile = os.path.join(self.dir, "users.acl")
        with open(self.aclfile, "w", encoding="ascii") as acl:
            acl.write("user default off\n")
            acl.write(f"user gateway on >{self.gateway_password} {GATEWAY_ACL}\n")
            acl.write(f"user opensrf on >{self.opensrf_password} +@all ~*\n")

    def client(self, user="opensrf", host=None, **kwargs):
        """A python redis client logged in as user ("gateway" or "opensrf")."""
        password = self.gateway_password if user == "gateway" else self.opensrf_password
        return redis.Redis(host=host or self.host, port=self.port, username=user,
                           password=password, socket_timeout=10, **kwargs)

    def _answers(self):
        with contextlib.suppress(redis.RedisError, OSError):
            return self.client().ping()
        return False

    def start(self):
        """Starts the server and returns once it answers PING (bounded wait)."""
        command = [REDIS_SERVER, "--bind", "127.0.0.1", "::1", "--port", str(self.port),
                   "--save", "", "--appendonly", "no", "--daemonize", "no",
                   "--aclfile", self.aclfile, "--dir", self.dir]
        with open(os.path.join(self.dir, "redis.log"), "ab") as log:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() >= deadline:
                raise AssertionError("redis-server did not answer: " + self.log()[-2000:])
            time.sleep(0.05)

    def stop(self):
        """Kills the server's process group and reaps it."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        pgid = self.process.pid
        wait_for(lambda: not group_alive(pgid), 10, message=f"redis group {pgid} to end")
        self.process = None

    def restart(self):
        """Stops and starts the server on the same port (data is lost)."""
        self.stop()
        self.start()

    @contextlib.contextmanager
    def monitor(self):
        """Records every command the server runs (MONITOR, as opensrf) with
        the address of the connection that sent it. Yields a Monitor:
        note_gateway_connections() records which connections are the
        gateway account's (CLIENT LIST), and commands_of_others() lists the
        command names those sent."""
        monitor = Monitor(self)
        monitor.start()
        try:
            yield monitor
        finally:
            monitor.stop()

    def log(self):
        with open(os.path.join(self.dir, "redis.log"), encoding="utf-8", errors="replace") as log:
            return log.read()


class Monitor:
    """See RedisServer.monitor()."""

    def __init__(self, server):
        self.server = server
        self.lines = []
        self.gateway_addresses = set()
        self._stop = threading.Event()
        self._threads = []

    def start(self):
        self._threads = [threading.Thread(target=self._watch, daemon=True)]
        for thread in self._threads:
            thread.start()
        # MONITOR is on once the watcher has seen its own PING.
        wait_for(lambda: any(line.split(" ", 1)[-1].upper().startswith("PING")
                             for line in list(self.lines)), 10,
                 message="MONITOR running")

    def _watch(self):
        client = self.server.client("opensrf")
        with client.monitor() as m:
            listen = m.listen()
            self.server.client("opensrf").ping()
            while not self._stop.is_set():
                try:
                    event = next(listen)
                except (redis.RedisError, OSError, StopIteration):
                    return
                self.lines.append(f'{event.get("client_address")}:{event.get("client_port")} '
                                  f'{event.get("command")}')

    def note_gateway_connections(self):
        """Records the addresses of the gateway account's connections now
        (CLIENT LIST); call it while the gateway is connected."""
        for fields in self.server.client("opensrf").client_list():
            if fields.get("user") == "gateway":
                self.gateway_addresses.add(fields["addr"])

    def stop(self):
        self._stop.set()
        # A last command wakes the MONITOR reader.
        with contextlib.suppress(redis.RedisError, OSError):
            self.server.client("opensrf").ping()
        for thread in self._threads:
            thread.join(5)

    def commands_of_others(self):
        """Command names (upper case) the gateway account's connections sent."""
        names = []
        for line in list(self.lines):
            address, _, command = line.partition(" ")
            if address in self.gateway_addresses:
                names.append(command.split(" ", 1)[0].upper())
        return names


@contextlib.contextmanager
def redis_server(tmp_path):
    """Yields a started RedisServer; kills and reaps it on exit."""
    server = RedisServer(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()
