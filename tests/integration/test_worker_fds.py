"""Issue 10, item 10: a worker holds exactly the descriptors it needs.

In /proc/PID/fd of each worker of a daemon: stdin/out/err, its channel to
the supervisor, its listen sockets, one descriptor per log file, and
libuv's own epoll, eventfd, signal pipes and spare fd for EMFILE. Not the lock file, the control
socket, another worker's channel, the readiness pipe, the supervisor's log
descriptors or its libuv pipes."""
import os


def fd_targets(pid):
    targets = {}
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets[int(name)] = os.readlink(f"/proc/{pid}/fd/{name}")
        except FileNotFoundError:  # closed meanwhile
            pass
    return targets


def inode(target, kind):
    """The inode of "socket:[123]" / "pipe:[123]", or None."""
    prefix = kind + ":["
    return int(target[len(prefix):-1]) if target.startswith(prefix) else None


def tcp_listen_inodes(port):
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == "0A":  # LISTEN
                    inodes.add(int(fields[9]))
    return inodes


def unix_socket_paths():
    paths = {}
    with open("/proc/net/unix", encoding="utf-8") as lines:
        next(lines)
        for line in lines:
            fields = line.split()
            paths[int(fields[6])] = fields[7] if len(fields) > 7 else ""
    return paths


def test_a_worker_holds_exactly_its_own_descriptors(gateway):
    gw = gateway(workers=3, daemon=True)
    error_log = os.path.join(gw.dir, "error.log")
    access_log = os.path.join(gw.dir, "access.log")
    supervisor = fd_targets(gw.pid)
    supervisor_sockets = {inode(t, "socket") for t in supervisor.values()} - {None}
    supervisor_pipes = {inode(t, "pipe") for t in supervisor.values()} - {None}
    listen_inodes = tcp_listen_inodes(gw.port)
    assert len(listen_inodes) == 3  # one SO_REUSEPORT socket per slot
    unix_paths = unix_socket_paths()

    worker_pids = [w["pid"] for w in gw.workers()["workers"]]
    channels = []
    for pid in worker_pids:
        fds = fd_targets(pid)
        kinds = {"stdio": 0, "log": [], "listen": set(), "channel": [], "eventpoll": 0,
                 "eventfd": 0, "pipe": [], "reserve": 0}
        for fd, target in sorted(fds.items()):
            socket_inode, pipe_inode = inode(target, "socket"), inode(target, "pipe")
            if fd <= 2:
                assert target == "/dev/null", (pid, fd, target)  # a daemon's stdio
                kinds["stdio"] += 1
            elif target == "/dev/null":
                kinds["reserve"] += 1  # libuv's spare fd for accepting under EMFILE
            elif target in (error_log, access_log):
                kinds["log"].append(target)
            elif socket_inode in listen_inodes:
                kinds["listen"].add(socket_inode)
            elif socket_inode is not None:
                # The only other socket is the worker's end of its channel:
                # unnamed, and not a descriptor the supervisor holds.
                assert unix_paths.get(socket_inode) == "", (pid, fd, target, "a named socket")
                assert socket_inode not in supervisor_sockets, (pid, fd, target)
                kinds["channel"].append(socket_inode)
            elif target == "anon_inode:[eventpoll]":
                kinds["eventpoll"] += 1
            elif target == "anon_inode:[eventfd]":
                kinds["eventfd"] += 1
            elif pipe_inode is not None:
                # libuv's signal pipes (its process-wide lock pipe, remade
                # after fork, and the loop's), made in this worker.
                assert pipe_inode not in supervisor_pipes, (pid, fd, target, "a supervisor pipe")
                kinds["pipe"].append(pipe_inode)
            else:
                raise AssertionError(f"worker {pid} holds fd {fd} -> {target}")
        assert kinds["stdio"] == 3, (pid, fds)
        assert sorted(kinds["log"]) == sorted([error_log, access_log]), (pid, fds)
        # Every slot's socket is inherited (a worker adopts an empty slot).
        assert kinds["listen"] == listen_inodes, (pid, fds)
        assert len(kinds["channel"]) == 1, (pid, fds)
        assert kinds["eventpoll"] == 1 and kinds["eventfd"] <= 1, (pid, fds)
        assert len(kinds["pipe"]) in (0, 2, 4) and kinds["reserve"] <= 1, (pid, fds)
        channels.append(kinds["channel"][0])
    assert len(set(channels)) == len(worker_pids)
