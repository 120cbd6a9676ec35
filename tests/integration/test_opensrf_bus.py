"""Proves the Redis half of the OpenSRF bus fixture (opensrf_bus.py) is
faithful to the spec's ACL (section 1) by acting as the gateway account.
The fake router, listener and drones (opensrf_fake.py) are exercised by
test_translator.py and test_translator_bus.py."""
import pytest
import redis

from opensrf_bus import redis_server
from peer_daemon import group_alive


@pytest.fixture
def bus_redis(tmp_path):
    with redis_server(tmp_path) as server:
        yield server
        pgid = server.process.pid
    assert not group_alive(pgid), "redis-server process group outlived the fixture"


def test_gateway_may_use_its_lists(bus_redis):
    gateway = bus_redis.client("gateway")
    key = "opensrf:client:gateway:localhost:vm:1:abc"
    assert gateway.rpush(key, "m1") == 1
    assert gateway.blpop([key], 1) == (key.encode(), b"m1")
    assert gateway.lpop(key) is None
    gateway.rpush("opensrf:router:router:localhost", "x")
    assert gateway.delete("opensrf:router:router:localhost") == 1


@pytest.mark.parametrize("command", [("PING",), ("SELECT", "0"), ("KEYS", "*"),
                                     ("RPUSH", "opensrf:service:_:_:wsgate.test", "x"),
                                     ("RPUSH", "opensrf:service:opensrf:127.0.0.1:x", "x")])
def test_gateway_gets_noperm(bus_redis, command):
    gateway = bus_redis.client("gateway")
    with pytest.raises(redis.exceptions.NoPermissionError):
        gateway.execute_command(*command)


def test_default_user_is_off(bus_redis):
    anonymous = redis.Redis(host=bus_redis.host, port=bus_redis.port, socket_timeout=5)
    with pytest.raises(redis.RedisError):
        anonymous.rpush("opensrf:client:x", "x")


def test_restart_keeps_port_and_accounts(bus_redis):
    bus_redis.restart()
    assert bus_redis.client("gateway").rpush("opensrf:client:a", "x") == 1
    assert bus_redis.client("opensrf").keys("*") == [b"opensrf:client:a"]
