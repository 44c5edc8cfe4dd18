"""The auto attendant end to end: the real server, real SIP and RTP, three SIP stacks
(a plain socket client, SIPp and pjsua2). What the caller heard is checked by correlating
the received RTP against the prompt WAVs; the event log tells which option was taken."""
from __future__ import annotations

import os
import signal
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import ivr
import rtp
from conftest import Sipp, free_port_block, running_server
from test_call import require_raw_sockets

# Monday 2026-11-23 10:00 in Brussels: the office is open.
OPEN_NOW = "2026-11-23T09:00:00Z"

MENUS = """\
    timezone: Europe/Brussels
    mailboxes: { "1001": { name: Front Desk, pin: "4711" } }
    licenses: { auto_attendant: LICENSE }
    schedule: { hours: { mon-fri: "09:00-17:30", sun: "09:00-12:00" }, holidays: [2026-12-25] }
    menus:
      main:
        greeting: { open: t-main-open, closed: t-main-closed, holiday: t-main-holiday }
        options:
          "1": { menu: sales }
          "3": { transfer: "sip:desk@127.0.0.1" }
          "5": { voicemail: "1001" }
          "9": hangup
        timeout: 2s
        retries: 1
        fallback: hangup
      sales:
        greeting: t-sales
        options: { "2": { menu: support }, "*": previous }
        timeout: 10s
      support:
        greeting: t-support
        options: { "*": previous, "0": hangup }
        timeout: 10s
      ext:
        greeting: aa-enter-extension
        options: { "9": hangup }
        extension_dialing: true
        inter_digit_timeout: 1500ms
        timeout: 10s
      lat:
        greeting: beep
        options: { "1": repeat }
        timeout: 60s
"""
NUMBERS = {"100": "{ play: welcome }", "200": "{ menu: main }", "201": "{ play: t-ext201 }",
           "210": "{ menu: ext }", "300": "{ menu: lat }"}


def menus(license: str = "standard") -> str:
    return MENUS.replace("LICENSE", license)


@pytest.fixture(scope="session")
def ivr_prompts(repo_root, tmp_path_factory) -> Path:
    return ivr.make_prompt_set(repo_root, tmp_path_factory.mktemp("ivr-prompts"))


@pytest.fixture
def ivr_server(parley_bin, ivr_prompts, tmp_path):
    # The raw caller accepts a REFER but never reports on it: a short transfer timeout ends the wait.
    with running_server(parley_bin, tmp_path, ivr_prompts, numbers=NUMBERS, tenant_extra=menus(),
                        sip_extra="  transfer_timeout: 2s\n", env={"PARLEY_TEST_NOW": OPEN_NOW}) as server:
        yield server


def ref(prompts: Path, name: str) -> tuple[str, np.ndarray]:
    samples, rate = rtp.read_wav(ivr.prompt_path(prompts, name))
    assert rate == 8000
    return name, samples


def assert_heard(audio, prompts: Path, names: list[str], server, **kw):
    rtp.write_wav(server.tmp_path / "heard.wav", audio)
    found = ivr.heard_in_order(audio, [ref(prompts, n) for n in names], **kw)
    missing = [(n, round(s, 2)) for n, s, off in found if off < 0]
    assert not missing, f"prompts not heard (in order): {missing}; all: {found}{server.describe()}"


def wait_prompt(server, call_id: str, name: str, nth: int = 1, timeout: float = 15.0) -> bool:
    """Waits until prompt `name` has started `nth` times on the call."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(1 for e in server.call_events(call_id) if e["event"] == "prompt.started" and e.get("prompt") == name) >= nth:
            return True
        time.sleep(0.05)
    return False


def selections(server, call_id: str) -> list[tuple[str, str, str]]:
    return [(e["menu"], e["keys"], e["action"]) for e in server.call_events(call_id) if e["event"] == "menu.selected"]


def test_three_levels_with_rfc4733_keys_and_barge_in(ivr_server, ivr_prompts):
    """Given the main menu (three levels: main → sales → support), when a caller presses keys
    as RFC 4733 events while each greeting plays, each key cuts the greeting (barge-in) and
    leads one level down, * goes back, and 9 says the tenant's own goodbye and hangs up."""
    with ivr.IvrCaller(ivr_server.sip_port, "200") as caller:
        time.sleep(1.2)
        caller.press("1")
        time.sleep(1.2)
        caller.press("2")
        time.sleep(1.2)
        caller.press("*")
        time.sleep(1.2)
        caller.press("*")
        time.sleep(1.2)
        caller.press("9")
        assert caller.wait_bye(10.0), "the server did not hang up after 9" + ivr_server.describe()
        audio = caller.received_audio()
        call_id = caller.call.call_id
    assert selections(ivr_server, call_id) == [
        ("main", "1", "menu sales"), ("sales", "2", "menu support"), ("support", "*", "previous"),
        ("sales", "*", "previous"), ("main", "9", "hangup")]
    assert_heard(audio, ivr_prompts, ["t-main-open", "t-sales", "t-support", "t-sales", "t-main-open", "goodbye"], ivr_server)
    # The tenant's goodbye (tenants/demo/goodbye.wav) was played, not the system one.
    system, _ = rtp.read_wav(ivr_prompts / "goodbye.wav")
    assert ivr.heard_in_order(audio, [("system goodbye", system)], head_s=0.4)[0][1] < 0.7   # heard prompts score over 0.8; other speech in the same voice up to about 0.6
    ended = ivr_server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call_id, 3.0)
    assert ended is not None and ended["cause"] == "app-hangup", ended


def test_three_levels_with_inband_dtmf_from_sipp(ivr_server, ivr_prompts, sipp_bin, tmp_path):
    """SIPp sends in-band DTMF only (G.711 tones in the audio, no telephone-event offered):
    1, 2 and * walk main → sales → support → sales; the prompts heard are correlated."""
    require_raw_sockets()
    hold_ms = 7000
    pcap = tmp_path / "inband_dtmf.pcap"
    rtp.write_inband_dtmf_pcap(pcap, "12*", ssrc=0x5EED, seq0=1, ts0=0, total_ms=hold_ms, tone_ms=100, gap_ms=1400,
                               lead_ms=1500)
    mp = free_port_block(3, step=2, lo=40000, hi=60000)
    scenario = tmp_path / "uac_ivr_inband.xml"
    scenario.write_text((Path(__file__).parent / "sipp" / "uac_dtmf.xml").read_text()
                        .replace("RTP/AVP 0 8 101", "RTP/AVP 0")
                        .replace("      a=rtpmap:101 telephone-event/8000\n      a=fmtp:101 0-16\n", "")
                        .replace('<exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_1.pcap"/>', "")
                        .replace('<pause milliseconds="500"/>', ""))
    with rtp.RtpListener(port=mp + 4) as listener:
        res = Sipp(sipp_bin, ivr_server, tmp_path).run(scenario, service="200", media_port=mp, files=[pcap],
                                                      extra=["-d", str(hold_ms)], timeout=hold_ms / 1000 + 20)
        assert res.returncode == 0, "SIPp scenario failed" + res.describe() + ivr_server.describe()
        audio = rtp.decode_stream([rtp.parse_rtp(d) for _, d, _ in listener.snapshot()])
    call_id = [e for e in ivr_server.events() if e["event"] == "call.received"][0]["call_id"]
    dtmf = [(e["digit"], e["source"]) for e in ivr_server.call_events(call_id) if e["event"] == "dtmf"]
    assert dtmf == [("1", "inband"), ("2", "inband"), ("*", "inband")], dtmf
    assert selections(ivr_server, call_id) == [("main", "1", "menu sales"), ("sales", "2", "menu support"),
                                               ("support", "*", "previous")]
    assert_heard(audio, ivr_prompts, ["t-main-open", "t-sales", "t-support", "t-sales"], ivr_server)


def test_pjsua2_walks_the_menu_and_hears_each_level(ivr_server, ivr_prompts, tmp_path):
    """pjsua2 (PJSIP) dials the menu, sends RFC 4733 keys 1 and 2 and records what it hears;
    the recording holds the three greetings in order."""
    import pjsua2 as pj
    from test_pjsua2 import Call, account_config, hang_up, pump, start_endpoint
    recording = tmp_path / "pjsua2-heard.wav"
    ep = pj.Endpoint()
    ep.libCreate()
    try:
        start_endpoint(ep, clock_rate=8000)
        acfg = account_config("sip:pjsua2@127.0.0.1")
        account = pj.Account()
        account.create(acfg)
        call = Call(account)
        call.makeCall(f"sip:200@127.0.0.1:{ivr_server.sip_port}", pj.CallOpParam(True))
        assert pump(ep, 5.0, lambda: call.media_active), f"no media; {call.states}{ivr_server.describe()}"
        recorder = pj.AudioMediaRecorder()
        recorder.createRecorder(str(recording))
        call.getAudioMedia(-1).startTransmit(recorder)
        pump(ep, 1.5)
        call.dialDtmf("1")
        pump(ep, 1.5)
        call.dialDtmf("2")
        pump(ep, 2.0)
        call.getAudioMedia(-1).stopTransmit(recorder)
        del recorder
        hang_up(ep, call, account)
        del call
    finally:
        ep.libDestroy()
    audio, rate = rtp.read_wav(recording)
    assert rate == 8000, rate
    assert_heard(audio, ivr_prompts, ["t-main-open", "t-sales", "t-support"], ivr_server, threshold=0.7)
    call_id = [e for e in ivr_server.events() if e["event"] == "call.received"][0]["call_id"]
    assert selections(ivr_server, call_id) == [("main", "1", "menu sales"), ("sales", "2", "menu support")]


def test_no_key_then_a_wrong_key_runs_the_fallback(ivr_server, ivr_prompts):
    """retries: 1 — silence (timeout 2 s) is one failure, a wrong key the second: the caller
    hears 'no input', the menu again, 'too many tries', goodbye, and the server hangs up."""
    with ivr.IvrCaller(ivr_server.sip_port, "200") as caller:
        assert wait_prompt(ivr_server, caller.call.call_id, "t-main-open", 2, timeout=20.0), \
            "no timeout after the greeting" + ivr_server.describe()
        time.sleep(0.8)
        caller.press("7")
        assert caller.wait_bye(15.0), "no hang-up after the fallback" + ivr_server.describe()
        audio = caller.received_audio()
        call_id = caller.call.call_id
    names = [e["event"] for e in ivr_server.call_events(call_id) if e["event"].startswith("menu.")]
    assert names == ["menu.entered", "menu.no_input", "menu.invalid", "menu.fallback"], names
    assert_heard(audio, ivr_prompts, ["t-main-open", "aa-no-input", "t-main-open", "aa-too-many-tries", "goodbye"], ivr_server)


def test_transfer_fails_and_the_menu_resumes_then_voicemail_takes_the_call(ivr_server, ivr_prompts):
    """Option 3 announces the transfer and sends REFER to the caller naming the front desk;
    the caller accepts it but no NOTIFY reports success, so after the transfer timeout the menu
    says the transfer failed and resumes; option 5 hands the call to the voicemail deposit of
    mailbox 1001 (no greeting recorded: the system sentence with the number). Both are in the
    event log."""
    with ivr.IvrCaller(ivr_server.sip_port, "200") as caller:
        time.sleep(0.8)
        caller.press("3")
        refer = caller.ua.wait_request("REFER", caller.call.call_id, 10.0)
        assert refer is not None and "sip:desk@127.0.0.1" in (refer.get("refer-to") or ""), ivr_server.describe()
        assert ivr_server.wait_event(lambda e: e.get("event") == "transfer", 10.0) is not None, ivr_server.describe()
        time.sleep(4.0)
        caller.press("5")
        started = ivr_server.wait_event(lambda e: e.get("event") == "voicemail.deposit_started", 10.0)
        assert started is not None and started["mailbox"] == "1001", ivr_server.describe()
        time.sleep(3.5)
        audio = caller.received_audio()
        caller.hangup()
    transfer = [e for e in ivr_server.events() if e["event"] == "transfer"][0]
    assert transfer["target"] == "sip:desk@127.0.0.1" and transfer["result"] == "failed", transfer
    assert_heard(audio, ivr_prompts, ["t-main-open", "aa-transferring", "aa-transfer-failed", "t-main-open",
                                      "vm-person-at", "digit-1", "digit-0"], ivr_server)


@pytest.mark.parametrize("now, state, greeting", [
    ("2026-10-25T07:30:00Z", "closed", "t-main-closed"),   # Sunday 08:30 CET (after the change)
    ("2026-10-25T08:05:00Z", "open", "t-main-open"),       # Sunday 09:05 CET
    ("2027-03-28T06:55:00Z", "closed", "t-main-closed"),   # Sunday 08:55 CEST (after the change)
    ("2027-03-28T07:05:00Z", "open", "t-main-open"),       # Sunday 09:05 CEST
    ("2026-12-25T10:00:00Z", "holiday", "t-main-holiday"),  # a Friday, but a holiday
])
def test_greeting_follows_the_schedule_across_daylight_saving(parley_bin, ivr_prompts, tmp_path, now, state, greeting):
    """The server's clock is set with PARLEY_TEST_NOW (a test-only override); the greeting is
    the one for the tenant's local time in Europe/Brussels on either side of a DST change."""
    with running_server(parley_bin, tmp_path, ivr_prompts, numbers=NUMBERS, tenant_extra=menus(),
                        env={"PARLEY_TEST_NOW": now}) as server:
        with ivr.IvrCaller(server.sip_port, "200") as caller:
            entered = server.wait_event(lambda e: e.get("event") == "menu.entered", 5.0)
            assert wait_prompt(server, caller.call.call_id, greeting), server.describe()
            time.sleep(1.5)
            audio = caller.received_audio()
            caller.hangup()
        assert entered is not None and entered["schedule"] == state, entered
        scores = {g: ivr.heard_in_order(audio, [ref(ivr_prompts, g)], head_s=0.5, threshold=0.0)[0][1]
                  for g in ("t-main-open", "t-main-closed", "t-main-holiday")}
        assert max(scores, key=scores.get) == greeting and scores[greeting] > 0.8, scores


@pytest.mark.parametrize("gap_ms, expected", [
    (60, ("ext", "201", "play t-ext201")),      # a fast typist
    (1000, ("ext", "201", "play t-ext201")),    # a slow one, within the 1.5 s inter-digit timeout
])
def test_extension_dialling_fast_and_slow_typists(ivr_server, ivr_prompts, gap_ms, expected):
    with ivr.IvrCaller(ivr_server.sip_port, "210") as caller:
        time.sleep(0.5)
        caller.press("201", tone_ms=80, gap_ms=gap_ms)
        ev = ivr_server.wait_event(lambda e: e.get("event") in ("menu.selected", "menu.invalid"), 10.0)
        wait_prompt(ivr_server, caller.call.call_id, "aa-enter-extension", 2)
        time.sleep(1.0)
        audio = caller.received_audio()
        caller.hangup()
    assert ev is not None and (ev["menu"], ev["keys"], ev.get("action")) == expected, ev
    assert_heard(audio, ivr_prompts, ["t-ext201", "aa-enter-extension"], ivr_server)


def test_extension_dialling_too_slow_ends_the_entry(ivr_server, ivr_prompts):
    """A pause longer than the inter-digit timeout ends the entry: '2' alone is no option."""
    with ivr.IvrCaller(ivr_server.sip_port, "210") as caller:
        time.sleep(0.5)
        caller.press("2", tone_ms=80, gap_ms=2500)
        caller.press("01", tone_ms=80, gap_ms=100)
        ev = ivr_server.wait_event(lambda e: e.get("event") == "menu.invalid", 10.0)
        caller.wait_sent()
        time.sleep(0.5)
        caller.hangup()
    assert ev is not None and ev["keys"] == "2", ev


def write_config(tmp_path: Path, prompts: Path, tenant_extra: str, numbers=None) -> Path:
    from conftest import write_config as wc
    return wc(tmp_path / "check.yaml", 5999, 30000, prompts, numbers=numbers or NUMBERS, tenant_extra=tenant_extra)


def test_basic_licence_with_two_menu_levels_is_refused_at_load(parley_bin, ivr_prompts, tmp_path):
    config = write_config(tmp_path, ivr_prompts, menus("basic").replace(", holiday: t-main-holiday", ""))
    check = subprocess.run([str(parley_bin), "check-config", str(config)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 1, check
    assert (f"{config}:" in check.stderr and "tenants.demo.menus.sales: the basic auto-attendant licence allows one "
            "menu level, but this menu is a sub-menu of 'main' (key 1)" in check.stderr), check.stderr
    serve = subprocess.run([str(parley_bin), "serve", "--config", str(config)], capture_output=True, text=True, timeout=30)
    assert serve.returncode == 2 and "tenants.demo.menus.sales: the basic auto-attendant licence" in serve.stderr, serve


def test_check_config_reports_every_menu_prompt_that_exists_nowhere(parley_bin, ivr_prompts, tmp_path):
    config = write_config(tmp_path, ivr_prompts, menus().replace("greeting: t-sales", "greeting: t-nowhere")
                          .replace("greeting: t-support", "greeting: acme/lost"))
    check = subprocess.run([str(parley_bin), "check-config", str(config)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 1, check
    lines = [l for l in check.stdout.splitlines() if "exists nowhere" in l]
    assert len(lines) == 2, check.stdout
    assert "tenants.demo.menus.sales.greeting: prompt 't-nowhere' exists nowhere (looked for" in lines[0], lines
    assert "tenants.demo.menus.support.greeting: prompt 'acme/lost'" in lines[1], lines
    ok = write_config(tmp_path, ivr_prompts, menus())
    good = subprocess.run([str(parley_bin), "check-config", str(ok)], capture_output=True, text=True, timeout=30)
    assert good.returncode == 0, good


def test_reload_keeps_old_menus_on_a_bad_file_and_calls_keep_their_menu(parley_bin, ivr_prompts, tmp_path):
    """SIGHUP with a broken file: logged, old menus stay. SIGHUP with a good new file: new calls
    get the new main menu, a call already in the menu keeps the one it started with."""
    # The raw caller accepts a REFER but never reports on it: a short transfer timeout ends the wait.
    with running_server(parley_bin, tmp_path, ivr_prompts, numbers=NUMBERS, tenant_extra=menus(),
                        sip_extra="  transfer_timeout: 2s\n", env={"PARLEY_TEST_NOW": OPEN_NOW}) as server:
        good = server.config_path.read_text()
        with ivr.IvrCaller(server.sip_port, "200") as early:
            time.sleep(0.5)
            server.config_path.write_text(good.replace("greeting: t-sales", "greeting: [broken"))
            server.proc.send_signal(signal.SIGHUP)
            failed = server.wait_event(lambda e: e.get("event") == "config.reload_failed", 20.0)
            assert failed is not None and "invalid YAML" in failed["error"], server.describe()
            with ivr.IvrCaller(server.sip_port, "200") as during:
                time.sleep(1.5)
                audio = during.received_audio()
                during.hangup()
            assert_heard(audio, ivr_prompts, ["t-main-open"], server)
            # A good new file: main has a new greeting and no option 1.
            server.config_path.write_text(good.replace("open: t-main-open", "open: t-new-main")
                                          .replace('          "1": { menu: sales }\n', ""))
            server.proc.send_signal(signal.SIGHUP)
            assert server.wait_event(lambda e: e.get("event") == "config.reloaded", 20.0) is not None, server.describe()
            with ivr.IvrCaller(server.sip_port, "200") as late:
                time.sleep(1.5)
                late_audio = late.received_audio()
                late.hangup()
            assert_heard(late_audio, ivr_prompts, ["t-new-main"], server)
            # The early call still has option 1 (its snapshot).
            early.press("1")
            time.sleep(2.0)
            early_audio = early.received_audio()
            early.hangup()
        assert selections(server, early.call.call_id) == [("main", "1", "menu sales")], server.describe()
        assert_heard(early_audio, ivr_prompts, ["t-main-open", "t-sales"], server)
        assert "configuration not reloaded" in server.stderr


def test_key_to_prompt_latency(parley_bin, ivr_prompts, tmp_path):
    """Measures (prints, never asserts) the time from a key press to the first RTP packet of
    the prompt it starts: `calls` callers at once, each pressing `presses` keys (RFC 4733,
    100 ms) in silence; the menu repeats a 250 ms beep on each key.
    IVR_LATENCY_CALLS / IVR_LATENCY_PRESSES set the load; run with -s to see the figures."""
    calls = int(os.environ.get("IVR_LATENCY_CALLS", "4"))
    presses = int(os.environ.get("IVR_LATENCY_PRESSES", "10"))
    with running_server(parley_bin, tmp_path, ivr_prompts, numbers=NUMBERS, tenant_extra=menus()) as server:
        callers = [ivr.IvrCaller(server.sip_port, "300").__enter__() for _ in range(calls)]
        try:
            time.sleep(1.0)   # the first beep is over
            marks: list[list[int]] = [[] for _ in callers]
            for i in range(presses):
                for k, c in enumerate(callers):
                    marks[k].append(c.media.count())
                    c.press("1", tone_ms=100, gap_ms=20)
                time.sleep(0.7 + 0.013 * (i % 7))   # beep (250 ms) done well before the next press
            time.sleep(0.5)
            from_down, from_up = [], []
            for c, m in zip(callers, marks):
                pkts = c.media.snapshot()
                for (key, down, up), start in zip(c.key_log, m):
                    first = next((t for t, d, _ in pkts[start:] if t > down and set(d[12:]) != {0xFF}), None)
                    assert first is not None, "a key press started no prompt" + server.describe()
                    from_down.append((first - down) * 1000)
                    from_up.append((first - up) * 1000)
        finally:
            for c in callers:
                c.hangup()
                c.__exit__(None, None, None)

    def summary(values):
        v = sorted(values)
        return f"median {statistics.median(v):.1f} ms, p99 {v[min(len(v) - 1, int(0.99 * len(v)))]:.1f} ms, max {v[-1]:.1f} ms"
    print(f"\nkey-to-prompt latency over {len(from_down)} key presses ({calls} concurrent calls):"
          f"\n  from key-up (RFC 4733 end packet):   {summary(from_up)}"
          f"\n  from key-down (first event packet):  {summary(from_down)}")
    assert len(from_down) == calls * presses
