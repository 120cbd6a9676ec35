"""Shared pieces of the translator tests (test_translator*.py): a real
redis-server with the OpenSRF ACL accounts (opensrf_bus.py), the fake
router, listener and drones (opensrf_fake.py), and wsgated with a
`relay: translator` route, plus the browser's message formats
(opensrf.js's, spec section 5) and a Python websockets client.
"""
import asyncio
import contextlib
import json
import os

import pytest
import websockets

from opensrf_bus import redis_server
from opensrf_fake import fake_opensrf

SERVICE = "wsgate.test"
PUBLIC = "localhost"     # the gateway's (and router's) domain
PRIVATE = "127.0.0.1"    # the drones' domain: the same Redis by another name
REPLY_TIMEOUT = 10.0


def osrf_message(kind, trace="1", payload=None, **extra):
    fields = {"threadTrace": trace, "locale": "en-US", "tz": "Etc/UTC", "type": kind}
    if payload is not None:
        fields["payload"] = payload
    fields.update(extra)
    return {"__c": "osrfMessage", "__p": fields}


def request(method, params=(), trace="1"):
    return osrf_message("REQUEST", trace,
                        {"__c": "osrfMethod", "__p": {"method": method, "params": list(params)}})


def connect(trace="0"):
    return osrf_message("CONNECT", trace)


def disconnect(trace="2"):
    return osrf_message("DISCONNECT", trace)


def envelope(thread, *messages, service=SERVICE, log_xid=None):
    """What opensrf.js sends: one JSON document per text message."""
    doc = {"service": service, "thread": thread, "osrf_msg": list(messages)}
    if service is None:
        del doc["service"]
    if log_xid is not None:
        doc["log_xid"] = log_xid
    return json.dumps(doc)


def statuses(reply):
    """(threadTrace, statusCode) of each STATUS in a reply."""
    out = []
    for m in reply["osrf_msg"]:
        p = m["__p"]
        if p["type"] == "STATUS":
            out.append((p["threadTrace"], str(p["payload"]["__p"]["statusCode"])))
    return out


def results(reply):
    return [m["__p"]["payload"]["__p"]["content"] for m in reply["osrf_msg"]
            if m["__p"]["type"] == "RESULT"]


async def recv_json(ws, timeout=REPLY_TIMEOUT):
    text = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(text, str), "translator replies are text messages"
    return json.loads(text)


async def recv_until_complete(ws, timeout=REPLY_TIMEOUT):
    """Replies until one carries a final status (205, 200, >= 400)."""
    replies = []
    while True:
        reply = await recv_json(ws, timeout)
        replies.append(reply)
        if any(code == "205" or code == "200" or int(code) >= 400 for _, code in statuses(reply)):
            return replies


async def assert_silent(ws, seconds):
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(ws.recv(), seconds)


class Translator:
    """A Redis bus, the fake services on it, and gateways with a translator
    route at /osrf on it."""

    def __init__(self, factory, tmp_path, bus, fake):
        self.factory = factory
        self.tmp = str(tmp_path)
        self.bus = bus
        self.fake = fake
        self.password_file = os.path.join(self.tmp, "gateway.password")
        with open(self.password_file, "w", encoding="ascii") as out:
            out.write(bus.gateway_password + "\n")

    def route(self, **translator):
        settings = {"domain": PUBLIC, "port": self.bus.port, "password_file": self.password_file}
        settings.update(translator)
        return {"path": "/osrf", "relay": "translator", "translator": settings}

    def start(self, workers=1, timeouts=None, extra=None, start=True, **translator):
        config = {"routes": [self.route(**translator)]}
        if timeouts:
            config["timeouts"] = timeouts
        if extra:
            config.update(extra)
        gw = self.factory(workers=workers, extra=config, start=start)
        if start:
            wait_bus_up(gw)
        return gw


def wait_bus_up(gw, connections=2, timeout=15):
    """Waits until the workers hold their bus connections."""
    gw.wait_for(lambda: gw.stats()["totals"]["translator_bus_connections"] >= connections *
                len([w for w in gw.workers()["workers"] if w["pid"]]), timeout,
                message="translator bus connections up")


def totals(gw):
    return gw.stats()["totals"]


def route_stats(gw, path="/osrf"):
    return gw.stats()["routes"][path]


@contextlib.contextmanager
def translator_rig(gateway, tmp_path, keepalive=5.0, drones=2):
    with redis_server(tmp_path) as bus:
        with fake_opensrf(bus, public=PUBLIC, private=PRIVATE, keepalive=keepalive,
                          services=(SERVICE,), drones=drones) as fake:
            yield Translator(gateway, tmp_path, bus, fake)


def ws_url(gw, path="/osrf"):
    return gw.url(path)


def run(coroutine):
    return asyncio.run(coroutine)


def client(gw, **kwargs):
    return websockets.connect(ws_url(gw), open_timeout=10, close_timeout=5, max_size=None, **kwargs)
