"""Process titles: ps names every worker by slot and generation and the
supervisor as such, in both the comm name and the command line."""

from conftest import wait_for


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [a.decode() for a in f.read().split(b"\0") if a]


def comm(pid):
    with open(f"/proc/{pid}/comm", encoding="ascii") as f:
        return f.read().strip()


def test_workers_and_supervisor_are_named_in_ps(gateway):
    gw = gateway(workers=2)
    assert cmdline(gw.pid) == ["wsgated: supervisor", "-c", gw.config_path]
    assert comm(gw.pid) == "wsgated"
    workers = gw.workers()["workers"]
    assert len(workers) == 2
    for worker in workers:
        slot, gen = worker["slot"], worker["generation"]
        assert cmdline(worker["pid"]) == [f"wsgated: worker {slot} gen {gen}", "-c",
                                          gw.config_path]
        assert comm(worker["pid"]) == f"wsgated w{slot} g{gen}"


def test_reloaded_workers_carry_their_new_generation(gateway):
    gw = gateway(workers=1)
    assert gw.ctl("reload").returncode == 0
    wait_for(lambda: [w for w in gw.workers()["workers"]
                      if w["generation"] == 2 and w["state"] == "Ready"], 30)
    worker = [w for w in gw.workers()["workers"] if w["generation"] == 2][0]
    assert cmdline(worker["pid"])[0] == f"wsgated: worker {worker['slot']} gen 2"
    assert comm(worker["pid"]) == f"wsgated w{worker['slot']} g2"
