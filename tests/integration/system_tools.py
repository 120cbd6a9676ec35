"""Debian tools some integration tests drive (systemd-analyze, logrotate,
start-stop-daemon): found on PATH or in the sbin directories, installed with
apt-get when missing and possible, else the test is skipped with the reason."""
import os
import shutil
import subprocess

import pytest

SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"])


def find_tool(tool):
    return shutil.which(tool, path=SEARCH_PATH)


def require_tool(tool, package):
    """Returns the path of `tool`, installing Debian's `package` first when
    it is missing (as root only: apt-get, with an update on a first
    failure). Skips the calling test, naming why, when it stays missing."""
    path = find_tool(tool)
    if path:
        return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(f"{tool} is missing and package {package} cannot be installed "
                    "(not root or no apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    result = subprocess.run(install, capture_output=True, text=True, env=env, timeout=600)
    if result.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, timeout=600)
        result = subprocess.run(install, capture_output=True, text=True, env=env, timeout=600)
    path = find_tool(tool)
    if not path:
        pytest.skip(f"{tool} is missing and installing package {package} failed: "
                    f"{(result.stderr or result.stdout).strip()[-500:]}")
    return path
