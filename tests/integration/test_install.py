"""`cmake --install` puts every file where an operator expects it, and the
installed wsgated accepts the installed configuration.

The build directory is the one WSGATED was built in (<build>/supervisor/
wsgated). Everything is installed with --prefix /usr into a temporary
DESTDIR; nothing outside it is touched. Files under /etc follow the build's
CMAKE_INSTALL_FULL_SYSCONFDIR, the directory compiled into the programs, so
the test finds the config through the installed wsgated's own default.
"""

import os
import re
import shutil
import stat
import subprocess
import tempfile

import pytest

WSGATED = os.environ.get("WSGATED", "")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT = 120


def build_dir():
    if not WSGATED:
        pytest.fail("set WSGATED to the built wsgated (ctest does)")
    build = os.path.dirname(os.path.dirname(os.path.abspath(WSGATED)))
    if not os.path.isfile(os.path.join(build, "cmake_install.cmake")):
        pytest.fail(f"{build} (from WSGATED) is not a CMake build directory")
    return build


@pytest.fixture(scope="module")
def installed():
    """Runs cmake --install once; yields (destdir, output)."""
    destdir = tempfile.mkdtemp(prefix="wsg-install-")
    try:
        env = dict(os.environ, DESTDIR=destdir)
        result = subprocess.run(["cmake", "--install", build_dir(), "--prefix", "/usr"],
                                capture_output=True, text=True, timeout=TIMEOUT, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        yield destdir, result.stdout
    finally:
        shutil.rmtree(destdir, ignore_errors=True)


def in_tree(destdir, path):
    return os.path.join(destdir, path.lstrip("/"))


def installed_default_config(destdir):
    """The -c default compiled into the installed wsgated."""
    result = subprocess.run([in_tree(destdir, "/usr/sbin/wsgated"), "--help"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    match = re.search(r"--config TEXT=(\S+)", result.stdout)
    assert match, result.stdout
    return match.group(1)


def test_programs_go_to_sbin_and_bin(installed):
    destdir, _ = installed
    for path in ("/usr/sbin/wsgated", "/usr/bin/wsgatectl"):
        assert os.access(in_tree(destdir, path), os.X_OK), path


def test_man_pages_go_to_man5_and_man8(installed):
    destdir, _ = installed
    for path in ("/usr/share/man/man5/wsgate.yaml.5", "/usr/share/man/man8/wsgated.8",
                 "/usr/share/man/man8/wsgatectl.8"):
        with open(in_tree(destdir, path), encoding="utf-8") as copy, \
                open(os.path.join(REPO, "man", os.path.basename(path)), encoding="utf-8") as src:
            assert copy.read() == src.read(), path


def test_config_goes_where_wsgated_looks_by_default(installed):
    destdir, _ = installed
    default = installed_default_config(destdir)
    assert default.endswith("/wsgate/wsgate.yaml"), default
    with open(in_tree(destdir, default), encoding="utf-8") as copy, \
            open(os.path.join(REPO, "etc", "wsgate.yaml"), encoding="utf-8") as src:
        installed_text, sample = copy.read(), src.read()
    # The sample's run/ paths become the places the unit, the init script and
    # the logrotate snippet use (/etc is read-only under ProtectSystem=full);
    # nothing else changes.
    moved = {"pid_file: run/wsgated.pid": "pid_file: /run/wsgated/wsgated.pid",
             "control_socket: run/wsgated.sock": "control_socket: /run/wsgated/wsgated.sock",
             "file: run/error.log": "file: /var/log/wsgated/error.log",
             "access_log: run/access.log": "access_log: /var/log/wsgated/access.log"}
    for old, new in moved.items():
        assert old in sample and new in installed_text, new
        sample = sample.replace(old, new)
    # The wss:// listener of the sample needs the certificate scripts/run
    # makes, so the installed config leaves it out.
    begin = sample.index("  # >>> wss listener")
    end = sample.index("  # <<< wss listener\n") + len("  # <<< wss listener\n")
    sample = sample[:begin] + sample[end:]
    assert "tls/localhost" not in installed_text
    # The console routes serve the checkout's console/; the installed config
    # leaves them out, and the page goes to the data directory.
    begin = sample.index("  # >>> console")
    end = sample.index("  # <<< console\n") + len("  # <<< console\n")
    sample = sample[:begin] + sample[end:]
    assert "relay: console" not in installed_text
    assert installed_text == sample
    assert os.path.isfile(in_tree(destdir, "/usr/share/wsgate/console/index.html"))
    with open(os.path.join(build_dir(), "CMakeCache.txt"), encoding="utf-8") as cache:
        prefix = re.search(r"^CMAKE_INSTALL_PREFIX:PATH=(.*)$", cache.read(), re.M).group(1)
    if prefix == "/usr":
        # GNUInstallDirs: the prefix /usr has its sysconfdir in /etc.
        assert default == "/etc/wsgate/wsgate.yaml"


def test_installed_wsgated_accepts_the_installed_config(installed):
    destdir, _ = installed
    config = in_tree(destdir, installed_default_config(destdir))
    result = subprocess.run([in_tree(destdir, "/usr/sbin/wsgated"), "-t", "-c", config],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout
    # -t touched nothing: no run/ directory appeared beside the config.
    assert not os.path.exists(os.path.join(os.path.dirname(config), "run"))


def test_service_files_are_installed_when_present(installed):
    destdir, _ = installed
    sysconfdir = os.path.dirname(os.path.dirname(installed_default_config(destdir)))
    with open(os.path.join(build_dir(), "CMakeCache.txt"), encoding="utf-8") as cache:
        unitdir = re.search(r"^WSGATE_SYSTEMD_UNITDIR:\w+=(.*)$", cache.read(), re.M).group(1)
    unitdir = os.path.join("/usr", unitdir)  # a relative one is under the prefix
    files = [
        ("etc/wsgated.service", f"{unitdir}/wsgated.service", False),
        ("etc/logrotate.d/wsgated", f"{sysconfdir}/logrotate.d/wsgated", False),
        ("scripts/wsgated.init", f"{sysconfdir}/init.d/wsgated", True),
        ("etc/default/wsgated", f"{sysconfdir}/default/wsgated", False),
    ]
    present = [f for f in files if os.path.exists(os.path.join(REPO, f[0]))]
    if not present:
        pytest.skip("no unit, logrotate snippet or init script in the tree yet")
    for source, target, executable in present:
        path = in_tree(destdir, target)
        assert os.path.isfile(path), f"{source} not installed as {target}"
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if executable:
            assert mode == 0o755, f"{target} has mode {oct(mode)}"
        else:
            assert mode == 0o644, f"{target} has mode {oct(mode)}"
