"""A fake OpenSRF router, listener and drones on a real Redis, written from
the wire specification (/work/shared/specs/opensrf-redis.md, sections 1, 2
and 4), for the translator's integration tests.

fake_opensrf(bus, public, private, keepalive, services) runs, as threads
each with its own Redis connections (the "opensrf" account):
- a router per domain, BLPOPping opensrf:router:router:<domain>: it takes
  register/unregister from listeners and forwards service messages
  byte-identical to the first registered listener's list; an unknown
  service gets the router's STATUS 404 osrfServiceException, threadTrace
  "1", osrf_xid null, sent to the message's `from`;
- a listener per service, registered with every router, BLPOPping
  opensrf:service:opensrf:<private>:<service> and handing each message to
  the most recently idle drone;
- `drones` drones per service (two by default), each with an address on
  the private domain.
  Replies go to the request's `from` (RPUSH on a connection to the
  address's domain, its 4th ':' field), same thread, osrf_xid echoed,
  envelope keys in C's order, compact ASCII JSON. CONNECT -> STATUS 200
  from the drone's address, then the drone serves that thread alone,
  BLPOPping its address with the keepalive as timeout (other threads
  ignored); silence -> STATUS 408 threadTrace "0"; DISCONNECT -> nothing.
  Each REQUEST gets its RESULTs and a STATUS 205 in one transport message.

Methods: opensrf.system.echo (a RESULT per param), wsgate.add (the sum),
wsgate.stream [n, delay] (n RESULT messages delay apart, then the 205 on
its own), wsgate.slow [seconds], wsgate.big [bytes], wsgate.whoami (the
drone's address); any other -> STATUS 404 osrfMethodException.

Every component survives a Redis restart (it reconnects; the listener
registers again). Threads stop within about a second of the context's end.
"""
import contextlib
import json
import os
import queue
import secrets
import socket
import threading
import time

import redis

POLL = 0.2  # BLPOP timeout of every loop: how soon a stop is noticed


def dumps(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True)


def envelope(to, sender, thread, xid, body, **router):
    env = {"to": to, "from": sender, "thread": thread, "osrf_xid": xid}
    env.update(router)
    env["body"] = body
    return dumps(env)


def message(kind, trace, payload=None):
    fields = {"threadTrace": str(trace), "locale": "en-US", "type": kind}
    if payload is not None:
        fields["payload"] = payload
    return {"__c": "osrfMessage", "__p": fields}


def status(trace, klass, text, code):
    return message("STATUS", trace, {"__c": klass, "__p": {"status": text, "statusCode": str(code)}})


def result(trace, content):
    return message("RESULT", trace, {"__c": "osrfResult",
                                     "__p": {"status": "OK", "statusCode": "200", "content": content}})


def domain_of(address):
    parts = address.split(":")
    return parts[3] if len(parts) > 3 else ""


class Component(threading.Thread):
    """A thread with its own Redis connections that reconnects after errors."""

    def __init__(self, fake, name):
        super().__init__(name=name, daemon=True)
        self.fake = fake
        self.ready = threading.Event()
        self._clients = {}

    def redis_for(self, host):
        client = self._clients.get(host)
        if client is None:
            client = self.fake.bus.client("opensrf", host=host)
            self._clients[host] = client
        return client

    def push(self, address, text):
        self.redis_for(domain_of(address) or self.fake.private).rpush(address, text)

    def run(self):
        while not self.fake.stopping.is_set():
            try:
                self.connected()
                self.ready.set()
                while not self.fake.stopping.is_set():
                    self.step()
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                self.ready.clear()
                for client in self._clients.values():
                    with contextlib.suppress(Exception):
                        client.close()
                self._clients = {}
                self.fake.stopping.wait(0.1)
        for client in self._clients.values():
            with contextlib.suppress(Exception):
                client.close()

    def connected(self):
        """Runs after each (re)connect."""

    def step(self):
        raise NotImplementedError


class Router(Component):
    def __init__(self, fake, domain):
        super().__init__(fake, f"router@{domain}")
        self.domain = domain
        self.key = f"opensrf:router:router:{domain}"
        self.instances = {}  # service -> [listen list keys], in registration order

    def step(self):
        item = self.redis_for(self.domain).blpop([self.key], POLL)
        if item is None:
            return
        text = item[1].decode()
        env = json.loads(text)
        self.fake.record(self.name, env)
        command = env.get("router_command")
        sender = env["from"].split(":")
        if command in ("register", "unregister"):
            service = env["router_class"]
            listen = f"opensrf:service:{sender[2]}:{sender[3]}:{service}"
            targets = self.instances.setdefault(service, [])
            if command == "register" and listen not in targets:
                targets.append(listen)
            elif command == "unregister" and listen in targets:
                targets.remove(listen)
            return
        service = env["to"].split(":")[-1]
        targets = self.instances.get(service)
        if targets:
            # C forwards the transport message unchanged, to the first instance.
            self.redis_for(domain_of(targets[0]) or self.fake.private).rpush(targets[0], text)
            return
        reply = [status("1", "osrfServiceException", "Service Not Found", 404)]
        self.push(env["from"], envelope(env["from"], self.key, env["thread"], None, reply))


class Listener(Component):
    def __init__(self, fake, service):
        super().__init__(fake, f"listener:{service}")
        self.service = service
        self.address = (f"opensrf:client:opensrf:{fake.private}:{socket.gethostname()}:"
                        f"{os.getpid()}:{secrets.token_hex(4)}")
        self.key = f"opensrf:service:opensrf:{fake.private}:{service}"
        self.idle = []  # drones, most recently idle last
        self.idle_changed = threading.Condition()

    def connected(self):
        for domain in self.fake.domains:
            router = f"opensrf:router:router:{domain}"
            self.redis_for(domain).rpush(router, envelope(
                router, self.address, "", None, "[]", router_to="", router_class=self.service,
                router_command="register"))

    def drone_idle(self, drone):
        with self.idle_changed:
            self.idle.append(drone)
            self.idle_changed.notify()

    def step(self):
        item = self.redis_for(self.fake.private).blpop([self.key], POLL)
        if item is None:
            return
        text = item[1].decode()
        self.fake.record(self.name, json.loads(text))
        with self.idle_changed:
            while not self.idle and not self.fake.stopping.is_set():
                self.idle_changed.wait(POLL)
            if not self.idle:
                return
            drone = self.idle.pop()
        drone.inbox.put(text)


class Drone(Component):
    def __init__(self, fake, listener, index):
        super().__init__(fake, f"drone:{listener.service}:{index}")
        self.listener = listener
        self.service = listener.service
        self.address = (f"opensrf:client:opensrf:{fake.private}:{socket.gethostname()}:"
                        f"{os.getpid()}:{secrets.token_hex(4)}")
        self.inbox = queue.Queue()
        listener.drone_idle(self)

    def step(self):
        try:
            text = self.inbox.get(timeout=POLL)
        except queue.Empty:
            return
        try:
            env = json.loads(text)
            self.fake.record(self.address, env)
            if self.serve(env, False):
                self.session(env)
        finally:
            self.listener.drone_idle(self)

    def session(self, first):
        """A CONNECTed thread: this drone serves it alone until DISCONNECT
        or keepalive seconds of silence."""
        thread = first["thread"]
        client = first["from"]
        mine = self.redis_for(self.fake.private)
        deadline = time.monotonic() + self.fake.keepalive
        while not self.fake.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                self.push(client, envelope(client, self.address, thread, first["osrf_xid"],
                                           [status("0", "osrfConnectStatus",
                                                   "Disconnected on timeout", 408)]))
                return
            item = mine.blpop([self.address], min(POLL, max(left, 0.01)))
            if item is None:
                continue
            env = json.loads(item[1].decode())
            self.fake.record(self.address, env)
            if env["thread"] != thread:
                continue  # other threads are ignored, as the C drone does
            if not self.serve(env, True):
                return
            deadline = time.monotonic() + self.fake.keepalive

    def serve(self, env, connected):
        """Answers each osrfMessage in order; answers whether the thread is
        CONNECTed to this drone afterwards."""
        for m in env["body"]:
            p = m["__p"]
            trace = p["threadTrace"]
            kind = p["type"]
            if kind == "CONNECT":
                self.reply(env, [status(trace, "osrfConnectStatus", "Connection Successful", 200)])
                connected = True
            elif kind == "DISCONNECT":
                connected = False
            elif kind == "REQUEST":
                try:
                    self.request(env, trace, p["payload"]["__p"])
                except (TypeError, ValueError, KeyError, IndexError) as error:
                    self.reply(env, [status(trace, "osrfServerError", f"bad params: {error}", 500)])
        return connected

    def reply(self, env, body):
        self.push(env["from"], envelope(env["from"], self.address, env["thread"], env["osrf_xid"], body))

    def request(self, env, trace, method):
        name = method["method"]
        params = method.get("params") or []
        complete = status(trace, "osrfConnectStatus", "Request Complete", 205)
        if name == "opensrf.system.echo":
            self.reply(env, [result(trace, p) for p in params] + [complete])
        elif name == "wsgate.add":
            self.reply(env, [result(trace, sum(params))] + [complete])
        elif name == "wsgate.whoami":
            self.reply(env, [result(trace, self.address), complete])
        elif name == "wsgate.big":
            self.reply(env, [result(trace, "x" * int(params[0])), complete])
        elif name == "wsgate.slow":
            if self.fake.stopping.wait(float(params[0])):
                return
            self.reply(env, [result(trace, params[0]), complete])
        elif name == "wsgate.stream":
            count, delay = int(params[0]), float(params[1])
            for i in range(count):
                if i and self.fake.stopping.wait(delay):
                    return
                self.reply(env, [result(trace, i)])
            self.reply(env, [complete])
        else:
            self.reply(env, [status(trace, "osrfMethodException",
                                    f"Method [{name}] not found for service {self.service}", 404)])


class FakeOpenSRF:
    def __init__(self, bus, public, private, keepalive, services, drones):
        self.bus = bus
        self.public = public
        self.private = private
        self.domains = [public] if public == private else [public, private]
        self.keepalive = keepalive
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._received = {}
        self.routers = {domain: Router(self, domain) for domain in self.domains}
        self.listeners = [Listener(self, service) for service in services]
        self.drones = [Drone(self, listener, i) for listener in self.listeners
                       for i in range(drones)]
        self.components = list(self.routers.values()) + self.listeners + self.drones

    @property
    def drone_addresses(self):
        return [d.address for d in self.drones]

    def record(self, component, env):
        with self._lock:
            self._received.setdefault(component, []).append(env)

    def received(self, component):
        """Envelopes a component received, in order: "router" (the public
        domain's router), "router@<domain>", "listener:<service>", or a
        drone's address."""
        if component == "router":
            component = f"router@{self.public}"
        with self._lock:
            return list(self._received.get(component, []))

    def client_keys(self):
        """The opensrf:client:* lists that exist on Redis now."""
        return [k.decode() for k in self.bus.client("opensrf").keys("opensrf:client:*")]

    def wait_ready(self, timeout=10.0):
        """Until every component is connected and every service registered
        with the public router (again, after a Redis restart)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            router = self.routers[self.public]
            if all(c.ready.is_set() for c in self.components) and all(
                    l.service in router.instances for l in self.listeners):
                return
            time.sleep(0.05)
        raise AssertionError("fake OpenSRF services not ready")

    def start(self):
        for component in self.components:
            component.start()
        self.wait_ready()

    def stop(self):
        self.stopping.set()
        for component in self.components:
            component.join(5)
        alive = [c.name for c in self.components if c.is_alive()]
        assert not alive, f"fake OpenSRF threads still running: {alive}"


@contextlib.contextmanager
def fake_opensrf(bus, public="localhost", private="127.0.0.1", keepalive=5.0,
                 services=("wsgate.test",), drones=2):
    fake = FakeOpenSRF(bus, public, private, keepalive, services, drones)
    try:
        fake.start()
        yield fake
    finally:
        fake.stop()
