"""The man pages in man/ render without warnings and document what the
binaries actually have: every key of `wsgated --print-schema` (with its type,
default, range and reload flag), every option of `wsgated --help` and
`wsgatectl --help`, every wsgatectl command and exit code, every signal the
supervisor handles and every statistics member. A change to the binaries
that the pages do not follow fails here.

Conventions the pages follow (and this file relies on):
- wsgate.yaml.5 documents each key as ".TP", ".B <key>" (list item keys as
  the schema table writes them: listen[].address), and ends the entry with
  "Type: T; default: D[; range: R]; reload: yes|no."
- wsgatectl.8 documents each command as ".TP", ".B <command>" in COMMANDS.
- Options are written with \\- for each hyphen (.BR \\-c ", " \\-\\-config).
"""

import os
import re
import shutil
import subprocess

import pytest

WSGATED = os.environ.get("WSGATED", "")
WSGATECTL = os.environ.get("WSGATECTL", "")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAN = os.path.join(REPO, "man")
PAGES = ["wsgated.8", "wsgatectl.8", "wsgate.yaml.5"]
TIMEOUT = 30


def run(args):
    return subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT)


def binary(path):
    if not path:
        pytest.fail("set WSGATED and WSGATECTL to the built binaries (ctest does)")
    return path


def page(name):
    with open(os.path.join(MAN, name), encoding="utf-8") as source:
        return source.read()


def plain(text):
    """Roff source with hyphen escapes undone, for finding option names."""
    return text.replace("\\-", "-").replace("\\(hy", "-")


def section(text, title):
    """Source lines of section .SH title, up to the next .SH."""
    match = re.search(r"^\.SH \"?" + re.escape(title) + r"\"?\n(.*?)(?=^\.SH |\Z)", text,
                      re.M | re.S)
    assert match, f"no section {title}"
    return match.group(1)


def tagged_items(text):
    """{tag: body} of every `.TP` item whose tag line is `.B word` (a lone
    word). The body runs to the next .TP, .SS, .SH or .PP."""
    items = {}
    for match in re.finditer(r"^\.TP\n\.B (\S+)\n(.*?)(?=^\.(?:TP|SS|SH|PP)\b|\Z)", text,
                             re.M | re.S):
        items[plain(match.group(1))] = match.group(2)
    return items


def schema_rows():
    """Rows of `wsgated --print-schema`: (key, type, default, range, reload)."""
    result = run([binary(WSGATED), "--print-schema"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines[0]
    assert header.split()[:5] == ["KEY", "TYPE", "DEFAULT", "RANGE", "RELOAD"], header
    starts = [header.index(name) for name in ("TYPE", "DEFAULT", "RANGE", "RELOAD",
                                               "DESCRIPTION")]
    rows = []
    for line in lines[1:]:
        if not line.strip():
            break
        cells = [line[:starts[0]]] + [line[a:b] for a, b in zip(starts, starts[1:])]
        rows.append(tuple(cell.strip() for cell in cells))
    assert len(rows) > 20, result.stdout
    return rows


def help_options(path):
    """Option names (-c, --config, ...) listed by `path --help`."""
    result = run([binary(path), "--help"])
    assert result.returncode == 0, result.stderr
    names = []
    for line in result.stdout.splitlines():
        match = re.match(r"^\s+(-[^\s=]+)", line)
        if match:
            names += match.group(1).split(",")
    assert "--help" in names, result.stdout
    return names, result.stdout


# -- rendering ---------------------------------------------------------------

@pytest.mark.parametrize("name", PAGES)
def test_mandoc_lint_is_clean(name):
    result = run(["mandoc", "-T", "lint", "-W", "warning", os.path.join(MAN, name)])
    assert result.returncode == 0 and not result.stdout and not result.stderr, (
        result.stdout + result.stderr)


@pytest.mark.parametrize("name", PAGES)
def test_groff_renders_without_warnings(name):
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed")
    result = run(["groff", "-man", "-ww", "-z", os.path.join(MAN, name)])
    assert result.returncode == 0 and not result.stderr, result.stderr


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_to_text_with_its_sections(name):
    result = run(["mandoc", "-T", "ascii", os.path.join(MAN, name)])
    assert result.returncode == 0, result.stderr
    text = re.sub(".\b", "", result.stdout)  # undo overstriking (bold, underline)
    for title in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
        assert re.search("^" + title + "$", text, re.M), title


# -- wsgate.yaml(5) ----------------------------------------------------------

def test_every_schema_key_is_documented_with_its_type_default_range_and_reload():
    items = tagged_items(section(page("wsgate.yaml.5"), "KEYS"))
    problems = []
    for key, type_name, default, value_range, reload in schema_rows():
        if key not in items:
            problems.append(f"{key}: no '.TP' / '.B {key}' entry")
            continue
        expected = f"Type: {type_name}; default: {default}"
        if value_range != "-":
            expected += f"; range: {value_range}"
        expected += f"; reload: {reload}."
        if expected not in items[key]:
            problems.append(f"{key}: entry lacks the line {expected!r}")
    assert not problems, "\n".join(problems)


def test_wsgate_yaml_documents_no_key_the_schema_lacks():
    keys = {row[0] for row in schema_rows()}
    documented = set(tagged_items(section(page("wsgate.yaml.5"), "KEYS")))
    assert documented - keys == set()


def test_wsgate_yaml_names_every_key_a_reload_cannot_change():
    text = section(page("wsgate.yaml.5"), "RELOAD")
    fixed = [row[0] for row in schema_rows() if row[4] == "no"]
    assert fixed
    for key in fixed:
        assert re.search(r"^\.[BIR]+ .*(?<![\w.])" + re.escape(key) + r"(?![\w.])", text,
                         re.M), key


def test_wsgate_yaml_describes_every_value_type():
    result = run([binary(WSGATED), "--print-schema"])
    types = {row[1] for row in schema_rows()}
    documented = set(tagged_items(section(page("wsgate.yaml.5"), "VALUES")))
    assert types - documented == set()
    # The "Values:" legend under the table names the same types.
    legend = result.stdout.split("\nValues:\n", 1)[1]
    for line in legend.splitlines():
        if line.strip():
            assert line.split()[0] in documented, line


# -- wsgated(8) --------------------------------------------------------------

def test_wsgated_documents_every_option():
    names, help_text = help_options(WSGATED)
    options = plain(section(page("wsgated.8"), "OPTIONS"))
    synopsis = plain(section(page("wsgated.8"), "SYNOPSIS"))
    for name in names:
        pattern = r"(?<![\w-])" + re.escape(name) + r"(?![\w-])"
        assert re.search(pattern, options), f"{name} (from --help) not in OPTIONS"
        if name not in ("-h", "--help", "--config", "--test", "--version"):
            assert re.search(pattern, synopsis), f"{name} not in SYNOPSIS"
    # And nothing the binary does not have.
    for name in set(re.findall(r"^\.BR? (-{1,2}[\w-]+)", options, re.M)):
        assert name in names, f"OPTIONS documents {name}, which --help lacks"
    default = re.search(r"--config TEXT=(\S+)", help_text)
    # Installed: SYSCONFDIR/wsgate/wsgate.yaml; run from its build tree, the
    # checkout's etc/wsgate.yaml.
    assert default and default.group(1).endswith(("/wsgate/wsgate.yaml", "/etc/wsgate.yaml"))


def test_wsgated_documents_every_signal_it_handles():
    with open(os.path.join(REPO, "supervisor", "supervisor.cpp"), encoding="utf-8") as source:
        match = re.search(r"kSignals\[\]\s*=\s*\{([^}]*)\}", source.read())
    assert match, "kSignals not found in supervisor/supervisor.cpp"
    signals = re.findall(r"SIG[A-Z0-9]+", match.group(1))
    assert "SIGUSR1" in signals
    text = section(page("wsgated.8"), "SIGNALS")
    for name in signals:
        assert re.search(r"^\.BR? .*\b" + name + r"\b", text, re.M), name


def test_wsgated_documents_exit_codes_timeouts_and_files():
    text = page("wsgated.8")
    exit_codes = tagged_items(section(text, "EXIT STATUS"))
    assert set(exit_codes) == {"0", "1", "2"}
    for key in ("timeouts.drain", "timeouts.idle_check_interval", "timeouts.max_request_wait",
                "timeouts.worker_start", "timeouts.stop"):
        assert key in text, key
    files = section(text, "FILES")
    for name in ("wsgated.service", "init.d/wsgated", "logrotate.d/wsgated", "wsgate.yaml"):
        assert name in files, name
    systemd = section(text, "SYSTEMD")
    for word in ("NOTIFY_SOCKET", "READY=1", "RELOADING=1", "MONOTONIC_USEC", "STATUS=",
                 "STOPPING=1", "MAINPID"):
        assert word in systemd, word


# -- wsgatectl(8) ------------------------------------------------------------

def test_wsgatectl_documents_every_command():
    _, help_text = help_options(WSGATECTL)
    match = re.search(r"command TEXT:\{([^}]*)\}", help_text)
    assert match, help_text
    commands = match.group(1).split(",")
    assert "reload" in commands
    items = tagged_items(section(page("wsgatectl.8"), "COMMANDS"))
    assert sorted(items) == sorted(commands)


def test_wsgatectl_documents_every_option():
    names, _ = help_options(WSGATECTL)
    options = plain(section(page("wsgatectl.8"), "OPTIONS"))
    for name in names:
        pattern = r"(?<![\w-])" + re.escape(name) + r"(?![\w-])"
        assert re.search(pattern, options), f"{name} (from --help) not in OPTIONS"
    for name in set(re.findall(r"^\.BR? (-{1,2}[\w-]+)", options, re.M)):
        assert name in names, f"OPTIONS documents {name}, which --help lacks"


def test_wsgatectl_documents_its_exit_codes():
    _, help_text = help_options(WSGATECTL)
    match = re.search(r"Exit codes: (.*?)\.\n", help_text)
    assert match, help_text
    codes = set(re.findall(r"(\d+) [a-z]", match.group(1)))
    assert codes == {"0", "1", "2", "3"}
    assert set(tagged_items(section(page("wsgatectl.8"), "EXIT STATUS"))) == codes


def test_wsgatectl_documents_every_statistics_member():
    with open(os.path.join(REPO, "shared", "common", "stats.h"), encoding="utf-8") as source:
        members = re.findall(r"^\s+uint64_t (\w+) = 0;", source.read(), re.M)
    assert "connections_active" in members
    text = section(page("wsgatectl.8"), "JSON DOCUMENTS")
    for member in members:
        assert re.search(r"^\.BR? .*\b" + member + r"\b", text, re.M), member


def test_wsgate_yaml_examples_are_valid_configurations(tmp_path):
    text = section(page("wsgate.yaml.5"), "EXAMPLES")
    examples = [plain(block) for block in re.findall(r"^\.EX\n(.*?)^\.EE\n", text, re.M | re.S)]
    assert len(examples) >= 2
    for number, example in enumerate(examples):
        path = tmp_path / f"example{number}.yaml"
        path.write_text(example, encoding="utf-8")
        result = run([binary(WSGATED), "-t", "-c", str(path)])
        assert result.returncode == 0, f"example {number}:\n{example}\n{result.stderr}"
