"""Fixtures for the Parley end-to-end suite.

The suite starts the real `parley` binary (env PARLEY_BIN, default
.build/release/parley under the repository root, the binary scripts/run starts) and drives it over UDP on
127.0.0.1 only, with SIPp and small Python clients.

Run from the repository root:  /usr/bin/python3 -m pytest -q Tests/e2e
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import sipua  # noqa: E402

REPO_ROOT = HERE.parent.parent
SIPP_DIR = HERE / "sipp"
MEDIA_TIMEOUT_S = 3.0
RTP_RANGE_SIZE = 200
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0


# ---------------------------------------------------------------------------
# paths
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def parley_bin(repo_root) -> Path:
    raw = os.environ.get("PARLEY_BIN", ".build/release/parley")
    path = Path(raw)
    if not path.is_absolute():
        path = repo_root / path
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"parley binary not found or not executable: {path} "
                    f"(build it with `swift build -c release`, or set PARLEY_BIN to its path)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def prompts_dir(repo_root) -> Path:
    # PARLEY_E2E_PROMPTS lets the suite run against another prompt set; default: the repo's prompts/
    path = Path(os.environ.get("PARLEY_E2E_PROMPTS", repo_root / "prompts")).resolve()
    if not (path / "welcome.wav").is_file():
        pytest.fail(f"prompt missing: {path / 'welcome.wav'} (8 kHz 16-bit mono WAV expected)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def sipp_bin() -> str:
    path = shutil.which("sipp")
    if not path:
        pytest.fail("sipp not found on PATH (Debian: apt-get install sip-tester)", pytrace=False)
    return path


# ---------------------------------------------------------------------------
# ports
# ---------------------------------------------------------------------------


def _udp_port_free(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that is free right now (kernel-chosen)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def free_port_block(count: int, step: int = 1, lo: int = 20000, hi: int = 32000, even: bool = True) -> int:
    """Start of `count` ports (start, start+step, ...) all free on 127.0.0.1/UDP,
    chosen below the kernel's ephemeral range so that kernel-chosen ports
    (free_udp_port, client sockets) never land inside it."""
    rng = random.Random()
    for _ in range(200):
        start = rng.randrange(lo, hi - count * step)
        if even:
            start &= ~1
        if all(_udp_port_free(start + i * step) for i in range(count)):
            return start
    raise RuntimeError(f"no block of {count} free UDP ports found in {lo}-{hi}")


@pytest.fixture
def free_port():
    return free_udp_port


# ---------------------------------------------------------------------------
# the server
# ---------------------------------------------------------------------------


def sip_options_ok(port: int, timeout: float = 0.5) -> bool:
    try:
        with sipua.SipUA(port) as ua:
            resp = ua.options(timeout=timeout)
    except OSError:
        return False
    return resp is not None and resp.status == 200


def parse_ts(value: str) -> datetime.datetime:
    ts = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=datetime.timezone.utc)
    return ts


@dataclass
class ParleyServer:
    proc: subprocess.Popen
    sip_port: int
    rtp_start: int
    rtp_end: int
    config_path: Path
    events_path: Path
    stderr_path: Path
    tmp_path: Path
    prompts_dir: Path
    media_timeout: float = MEDIA_TIMEOUT_S

    @property
    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stderr_tail(self, lines: int = 60) -> str:
        return "\n".join(self.stderr.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def events(self) -> list[dict]:
        """All complete lines of the event log, parsed. A line that is not a
        JSON object fails the test (a trailing partial line is left for later)."""
        try:
            data = self.events_path.read_text(errors="replace")
        except FileNotFoundError:
            return []
        lines = data.split("\n")
        if not data.endswith("\n"):
            lines = lines[:-1]  # still being written
        out = []
        for line in lines:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                pytest.fail(f"event log line is not JSON ({e}): {line!r}", pytrace=False)
            if not isinstance(obj, dict) or "event" not in obj:
                pytest.fail(f"event log line is not an object with 'event': {line!r}", pytrace=False)
            out.append(obj)
        return out

    def call_events(self, call_id: str) -> list[dict]:
        return [e for e in self.events() if e.get("call_id") == call_id]

    def wait_event(self, pred, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events():
                if pred(e):
                    return e
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def describe(self) -> str:
        """Context for failure messages."""
        try:
            ev = self.events_path.read_text(errors="replace")
        except FileNotFoundError:
            ev = "(no event log)"
        state = "running" if self.alive() else f"exited with {self.proc.returncode}"
        return (f"\n--- parley ({state}), config {self.config_path} ---\n"
                f"--- events (last 40) ---\n" + "\n".join(ev.splitlines()[-40:]) +
                f"\n--- stderr (tail) ---\n{self.stderr_tail()}\n")


DEFAULT_NUMBERS = {"100": "{ play: welcome }"}


def write_config(path: Path, sip_port: int, rtp_start: int, prompts: Path, media_timeout: float = MEDIA_TIMEOUT_S,
                 numbers: dict[str, str] | None = None, tenant_extra: str = "", tcp: bool = False,
                 sip_extra: str = "", inband_dtmf: str = "always", top_extra: str = "", rtp_extra: str = "") -> Path:
    """The contract's config; `numbers` maps a number to its inline YAML flow mapping;
    `tenant_extra` is more YAML for the demo tenant (indented four spaces); `top_extra` is
    more top-level YAML (e.g. an `admin:` section); `sip_extra` and `rtp_extra` are more keys
    of those sections (indented two spaces)."""
    numbers = numbers or DEFAULT_NUMBERS
    path.write_text(
        "sip:\n"
        f"  listen: [\"udp:127.0.0.1:{sip_port}\"" + (f", \"tcp:127.0.0.1:{sip_port}\"" if tcp else "") + "]\n"
        + sip_extra +
        "rtp:\n"
        "  bind: 127.0.0.1\n"
        "  advertise: 127.0.0.1\n"
        f"  ports: {rtp_start}-{rtp_start + RTP_RANGE_SIZE - 1}\n"
        f"  media_timeout: {media_timeout:g}s\n"
        # Calls here mix RFC 4733 and in-band keys, so detect in-band on every leg unless a
        # test asks otherwise (the server's default is auto).
        f"  inband_dtmf: {inband_dtmf}\n"
        + rtp_extra +
        f"prompts: {prompts}\n"
        "shutdown_grace: 2s\n"
        + top_extra +
        "tenants:\n"
        "  demo:\n"
        "    domains: [127.0.0.1, localhost]\n"
        "    numbers:\n" + "".join(f"      \"{num}\": {flow}\n" for num, flow in numbers.items())
        + tenant_extra
    )
    return path


def start_server(parley_bin: Path, tmp_path: Path, prompts: Path, numbers: dict[str, str] | None = None,
                 tenant_extra: str = "", tcp: bool = False, sip_extra: str = "",
                 media_timeout: float = MEDIA_TIMEOUT_S, env: dict[str, str] | None = None,
                 inband_dtmf: str = "always", top_extra: str = "", rtp_extra: str = "") -> ParleyServer:
    sip_port = free_udp_port()
    rtp_start = free_port_block(RTP_RANGE_SIZE)
    config = write_config(tmp_path / "parley.yaml", sip_port, rtp_start, prompts, numbers=numbers, tenant_extra=tenant_extra, tcp=tcp, sip_extra=sip_extra,
                          media_timeout=media_timeout, inband_dtmf=inband_dtmf, top_extra=top_extra, rtp_extra=rtp_extra)
    events = tmp_path / "events.jsonl"
    stderr_path = tmp_path / "parley.stderr"
    with open(stderr_path, "wb") as err, open(tmp_path / "parley.stdout", "wb") as out:
        proc = subprocess.Popen([str(parley_bin), "serve", "--config", str(config), "--events", str(events)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=str(REPO_ROOT),
                                start_new_session=True, env={**os.environ, **(env or {})})
    server = ParleyServer(proc, sip_port, rtp_start, rtp_start + RTP_RANGE_SIZE - 1, config, events,
                          stderr_path, tmp_path, prompts, media_timeout)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"parley exited with {proc.returncode} before it was ready{server.describe()}", pytrace=False)
        if sip_options_ok(sip_port):
            return server
        time.sleep(0.1)
    stop_server(server)
    pytest.fail(f"parley did not answer OPTIONS with 200 on udp:127.0.0.1:{sip_port} within "
                f"{READY_TIMEOUT_S:.0f} s{server.describe()}", pytrace=False)


@contextlib.contextmanager
def running_server(parley_bin: Path, tmp_path: Path, prompts: Path, **options):
    """Starts the server (options as for `start_server`), yields it, stops it afterwards and
    fails the test when it crashed, was killed, or did not stop on SIGTERM."""
    server = start_server(parley_bin, tmp_path, prompts, **options)
    try:
        yield server
    except BaseException:
        # The test failed: stop the server all the same (its own verdict no longer matters),
        # so no server outlives its test and loads the machine for the ones after it.
        stop_server(server)
        raise
    problem = stop_server(server)
    if problem:
        pytest.fail(problem + server.describe(), pytrace=False)


def stop_server(server: ParleyServer) -> str | None:
    """Stop the server; returns a problem description, or None if all is well."""
    proc = server.proc
    rc = proc.poll()
    if rc is not None:
        how = f"killed by signal {-rc} ({_signame(-rc)})" if rc < 0 else f"exited with status {rc}"
        return f"parley died during the test: {how}"
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
        return f"parley did not exit within {STOP_TIMEOUT_S:.0f} s of SIGTERM (killed)"
    rc = proc.returncode
    if rc < 0 and -rc not in (signal.SIGTERM,):
        return f"parley was killed by signal {-rc} ({_signame(-rc)}) while stopping"
    return None


def _signame(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return "?"


@pytest.fixture
def parley_server(parley_bin, prompts_dir, tmp_path):
    """The server with the contract's config (number 100 plays welcome)."""
    with running_server(parley_bin, tmp_path, prompts_dir) as server:
        yield server


RINGING_NUMBER = "101"


@pytest.fixture
def parley_server_ringing(parley_bin, prompts_dir, tmp_path):
    """Also number 101, which rings 5 s before answering (`answer_after`: a key of the
    server's config beyond the e2e contract, used only here for CANCEL)."""
    with running_server(parley_bin, tmp_path, prompts_dir,
                        numbers={**DEFAULT_NUMBERS, RINGING_NUMBER: "{ play: welcome, answer_after: 5s }"}) as server:
        yield server


# ---------------------------------------------------------------------------
# SIPp
# ---------------------------------------------------------------------------


@dataclass
class SippResult:
    returncode: int
    stdout: str
    errors: str
    messages: str
    duration: float

    def describe(self) -> str:
        return (f"\n--- sipp exit {self.returncode} after {self.duration:.1f} s ---\n"
                f"--- sipp errors ---\n{self.errors[-4000:]}\n"
                f"--- sipp messages (tail) ---\n{self.messages[-4000:]}\n"
                f"--- sipp stdout (tail) ---\n" + "\n".join(self.stdout.splitlines()[-25:]) + "\n")


class Sipp:
    """Runs one SIPp UAC scenario (one call, -m 1, unless `calls` says more) against the server."""

    def __init__(self, sipp_bin: str, server: ParleyServer, workdir: Path):
        self.sipp_bin = sipp_bin
        self.server = server
        self.workdir = workdir

    def run(self, scenario: str | Path, service: str = "100", media_port: int | None = None,
            keys: dict | None = None, extra: list[str] | None = None, timeout: float = 30.0,
            files: list[Path] | None = None, calls: int = 1, concurrent: int = 1) -> SippResult:
        """`scenario` is a file name under Tests/e2e/sipp (or a path). It is copied into a
        fresh directory together with `files`, so relative pcap names resolve there."""
        src = Path(scenario)
        if not src.is_absolute():
            src = SIPP_DIR / src
        run_dir = self.workdir / f"sipp-{src.stem}-{int(time.monotonic() * 1000)}"
        run_dir.mkdir(parents=True)
        shutil.copy(src, run_dir / src.name)
        for f in files or []:
            shutil.copy(f, run_dir / Path(f).name)
        if media_port is None:
            media_port = free_port_block(3, step=2, lo=40000, hi=60000)
        cmd = [self.sipp_bin, f"127.0.0.1:{self.server.sip_port}",
               "-sf", src.name, "-s", service, "-m", str(calls), "-l", str(concurrent),
               "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", str(free_udp_port()),
               "-mp", str(media_port), "-cp", str(free_udp_port()),
               "-nostdin", "-trace_err", "-error_file", "errors.log",
               "-trace_msg", "-message_file", "messages.log",
               "-recv_timeout", "10000",
               "-timeout", f"{int(timeout)}s", "-timeout_error"]
        for k, v in (keys or {}).items():
            cmd += ["-key", k, str(v)]
        cmd += extra or []
        t0 = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=run_dir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=timeout + 10)
            rc, out = proc.returncode, proc.stdout.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            rc, out = -999, (e.stdout or b"").decode(errors="replace") + "\n(sipp killed: wall-clock timeout)"
        duration = time.monotonic() - t0

        def read(name):
            p = run_dir / name
            return p.read_text(errors="replace") if p.exists() else ""

        return SippResult(rc, out, read("errors.log"), read("messages.log"), duration)


@pytest.fixture
def sipp(sipp_bin, parley_server, tmp_path) -> Sipp:
    return Sipp(sipp_bin, parley_server, tmp_path)
