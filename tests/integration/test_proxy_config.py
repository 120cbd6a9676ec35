"""Configuration of relay: proxy routes through the real binaries: the token
file and the upstream CA file are read by `wsgated -t` and by every reload,
and a broken one fails there, naming the file, before anything forks.
(The relay itself is tested with the worker.)"""
import os
import subprocess

from conftest import WSGATED, echo

ECHO_ROUTE = {"path": "/echo", "relay": "echo"}


def proxy_routes(proxy):
    return {"routes": [ECHO_ROUTE, {"path": "/vnc", "relay": "proxy", "proxy": proxy}]}


def write(path, text):
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)
    return path


def check(gw):
    return subprocess.run([WSGATED, "-t", "-c", gw.config_path], capture_output=True, text=True,
                          timeout=30)


def test_check_config_reads_the_token_file(gateway):
    gw = gateway(workers=1, start=False)
    tokens = write(os.path.join(gw.dir, "tokens"), "# desks\ndesk1: 127.0.0.1:5900\n")
    gw.write_config(proxy_routes({"token_file": tokens}))
    good = check(gw)
    assert good.returncode == 0, good.stderr
    write(tokens, "desk1: 127.0.0.1:5900\ndesk2: nowhere\n")
    bad = check(gw)
    assert bad.returncode == 1
    assert f'{tokens}:2: bad target "nowhere" (want host:port or unix:/path)' in bad.stderr
    assert "(token file of routes[1].proxy.token_file at " in bad.stderr
    assert "test failed" in bad.stderr
    os.unlink(tokens)
    missing = check(gw)
    assert missing.returncode == 1
    assert f"{tokens}: cannot read: No such file or directory" in missing.stderr


def test_check_config_reads_the_upstream_ca_file(gateway):
    gw = gateway(workers=1, start=False)
    ca = os.path.join(gw.dir, "ca.pem")
    gw.write_config(proxy_routes({"upstream": "tcp://127.0.0.1:5901",
                                  "tls": {"enabled": True, "ca": ca}}))
    result = check(gw)
    assert result.returncode == 1
    assert f"routes[1].proxy.tls: {ca}: cannot open: No such file or directory" in result.stderr
    write(ca, "no certificate here\n")
    result = check(gw)
    assert result.returncode == 1
    assert f"routes[1].proxy.tls: {ca}: has no PEM certificate" in result.stderr


def test_reload_with_a_broken_token_file_or_ca_keeps_serving(gateway):
    gw = gateway(workers=2, start=False)
    tokens = write(os.path.join(gw.dir, "tokens"), "desk1: 127.0.0.1:5900\n")
    gw.write_config(proxy_routes({"token_file": tokens}))
    gw.start()
    pids = sorted(gw.worker_pids())

    write(tokens, "desk1: 127.0.0.1:0\n")
    result = gw.ctl("reload")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{tokens}:1: bad target" in result.stdout + result.stderr

    ca = os.path.join(gw.dir, "missing-ca.pem")
    gw.write_config(proxy_routes({"upstream": "tcp://127.0.0.1:5901",
                                  "tls": {"enabled": True, "ca": ca}}))
    result = gw.ctl("reload")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{ca}: cannot open" in result.stdout + result.stderr

    # Nothing was forked: the same workers of generation 1 serve on.
    assert gw.status()["generation"] == 1
    assert sorted(gw.worker_pids()) == pids
    assert echo(gw.url("/echo"), ["still here"]) == ["still here"]
