"""SIPp scenarios for the dialog features that the raw-UDP tests cover too: CANCEL before the
answer, re-INVITE hold and resume, INFO DTMF, an offerless INVITE (each over UDP and TCP),
and calls that complete under packet loss (SIPp's -lost, UDP). Each test checks SIPp's
result and the server's event log, including that RTP flowed both ways."""
from __future__ import annotations

import re
import time

import pytest

import rtp
from conftest import DEFAULT_NUMBERS, RINGING_NUMBER, Sipp, free_port_block, running_server

TRANSPORTS = ["udp", "tcp"]


@pytest.fixture
def server(parley_bin, prompts_dir, tmp_path):
    """UDP and TCP on one port; 100 answers at once, 101 rings 5 s first."""
    numbers = {**DEFAULT_NUMBERS, RINGING_NUMBER: "{ play: welcome, answer_after: 5s }"}
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=numbers, tcp=True) as s:
        yield s


def transport_args(transport: str) -> list[str]:
    return ["-t", "t1"] if transport == "tcp" else []


def named(server, name, call_id=None):
    return [e for e in server.events() if e.get("event") == name and (call_id is None or e.get("call_id") == call_id)]


def the_call(server) -> str:
    received = named(server, "call.received")
    assert len(received) == 1, f"expected one call, got {received}{server.describe()}"
    return received[0]["call_id"]


def ended_with_media(server, call_id: str, minimum: int = 20) -> dict:
    ended = server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call_id, 5.0)
    assert ended is not None, "no call.ended" + server.describe()
    assert ended.get("cause") == "bye", ended
    assert ended.get("rtp_in", 0) >= minimum and ended.get("rtp_out", 0) >= minimum, f"media did not flow both ways: {ended}"
    return ended


def sipp_counter(stdout: str, name: str) -> int:
    """The cumulative value of a counter on SIPp's final statistics screen."""
    values = re.findall(rf"^\s*{re.escape(name)}\s*\|\s*\d+\s*\|\s*(\d+)", stdout, re.MULTILINE)
    assert values, f"no '{name}' in SIPp's output:\n{stdout[-2000:]}"
    return int(values[-1])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cancel_before_answer_gets_200_and_487(server, sipp_bin, tmp_path, transport):
    """Given a number that rings before answering, SIPp's CANCEL after the 180 gets 200 and the
    INVITE 487; the call ends as cancelled, never answered, and no RTP is sent to the caller."""
    mp = free_port_block(3, step=2, lo=40000, hi=60000)
    with rtp.RtpListener(port=mp + 4) as listener:
        res = Sipp(sipp_bin, server, tmp_path).run("uac_cancel.xml", service=RINGING_NUMBER, media_port=mp,
                                                  extra=transport_args(transport), timeout=15)
        assert res.returncode == 0, "SIPp CANCEL scenario failed" + res.describe() + server.describe()
        call_id = the_call(server)
        ended = server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call_id, 3.0)
        assert ended is not None and ended.get("cause") == "cancel", ended
        time.sleep(0.5)
        assert listener.count() == 0, f"{listener.count()} RTP packets sent for a cancelled call"
    assert not named(server, "call.answered"), server.describe()
    assert sipp_counter(res.stdout, "Successful call") == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_reinvite_hold_then_resume(server, sipp_bin, tmp_path, transport):
    """A re-INVITE with a=sendonly is answered a=recvonly and the server stops sending for the
    hold (a gap of more than a second in its RTP); a re-INVITE with a=sendrecv is answered
    a=sendrecv and the RTP comes back. SIPp checks both answers' direction."""
    mp = free_port_block(3, step=2, lo=40000, hi=60000)
    with rtp.RtpListener(port=mp + 4) as listener:
        res = Sipp(sipp_bin, server, tmp_path).run("uac_hold_resume.xml", media_port=mp,
                                                  extra=transport_args(transport), timeout=20)
        assert res.returncode == 0, "SIPp hold/resume scenario failed" + res.describe() + server.describe()
        call_id = the_call(server)
        ended_with_media(server, call_id)
        times = [t for t, _, _ in listener.snapshot()]
    held = named(server, "call.held", call_id)
    resumed = named(server, "call.resumed", call_id)
    assert [e.get("direction") for e in held] == ["recvonly"], held
    assert [e.get("direction") for e in resumed] == ["sendrecv"], resumed
    assert len(times) > 100, f"only {len(times)} RTP packets from the server"
    gaps = [(b - a, i) for i, (a, b) in enumerate(zip(times, times[1:]))]
    longest, at = max(gaps)
    assert 1.0 <= longest <= 2.5, f"longest pause in the server's RTP {longest:.2f} s; hold should stop it for about 1.5 s"
    before, after = at + 1, len(times) - at - 1
    assert before > 40 and after > 40, f"RTP before the hold {before} packets, after the resume {after}"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_info_dtmf_relay_reports_the_key(server, sipp_bin, tmp_path, transport):
    """INFO with application/dtmf-relay Signal=5 gets 200 and the event log reports key 5 from
    source info, once; media flows both ways during the call."""
    res = Sipp(sipp_bin, server, tmp_path).run("uac_info_dtmf.xml", extra=transport_args(transport), timeout=15)
    assert res.returncode == 0, "SIPp INFO scenario failed" + res.describe() + server.describe()
    call_id = the_call(server)
    ended_with_media(server, call_id)
    dtmf = [(e.get("digit"), e.get("source")) for e in named(server, "dtmf", call_id)]
    assert dtmf == [("5", "info")], dtmf


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_offerless_invite_offer_in_200_answer_in_ack(server, sipp_bin, tmp_path, transport):
    """An INVITE without SDP gets our offer in the 200 (SIPp checks it offers PCMA); the ACK's
    answer (PCMA) starts the media, which flows both ways."""
    res = Sipp(sipp_bin, server, tmp_path).run("uac_offerless.xml", extra=transport_args(transport), timeout=15)
    assert res.returncode == 0, "SIPp offerless scenario failed" + res.describe() + server.describe()
    call_id = the_call(server)
    answered = named(server, "call.answered", call_id)
    assert len(answered) == 1 and answered[0].get("offer") == "ours" and answered[0].get("codec") == "PCMA", answered
    ended_with_media(server, call_id)


LOSSY_CALLS = 20
LOSS_PERCENT = 10


@pytest.fixture
def patient_server(parley_bin, prompts_dir, tmp_path):
    """A media timeout of 15 s: with the suite's 3 s, a caller whose 200 OK is lost twice
    starts its RTP too late and the server rightly hangs up (seen about once in 40 runs)."""
    with running_server(parley_bin, tmp_path, prompts_dir, media_timeout=15.0) as s:
        yield s


def test_calls_complete_under_packet_loss(patient_server, sipp_bin, tmp_path):
    """SIPp drops 10 % of the SIP messages it sends and receives (-lost 10). Retransmissions
    on both sides (SIPp's INVITE and BYE, the server's 200 until the ACK) still complete every
    one of 20 calls (5 at a time), each with media both ways."""
    server = patient_server
    res = Sipp(sipp_bin, server, tmp_path).run("uac_media_call.xml", calls=LOSSY_CALLS, concurrent=5,
                                              extra=["-lost", str(LOSS_PERCENT), "-r", "5"], timeout=90)
    successful = sipp_counter(res.stdout, "Successful call")
    failed = sipp_counter(res.stdout, "Failed call")
    assert res.returncode == 0 and successful == LOSSY_CALLS and failed == 0, \
        f"{successful} of {LOSSY_CALLS} calls succeeded, {failed} failed" + res.describe() + server.describe()
    ended = [e for e in named(server, "call.ended")]
    deadline = time.monotonic() + 5
    while len(ended) < LOSSY_CALLS and time.monotonic() < deadline:
        time.sleep(0.2)
        ended = named(server, "call.ended")
    assert len(ended) == LOSSY_CALLS, f"{len(ended)} call.ended events{server.describe()}"
    for e in ended:
        assert e.get("cause") == "bye" and e.get("rtp_in", 0) > 20 and e.get("rtp_out", 0) > 20, e
    table = sipp_message_table(res.stdout)
    retransmitted = sum(retrans for _, _, retrans in table)
    print(f"{LOSSY_CALLS} calls at -lost {LOSS_PERCENT}: (message, count, retransmissions) {table}")
    assert retransmitted > 0, f"no retransmission at all: was anything lost? {table}"


def sipp_message_table(stdout: str) -> list[tuple[str, int, int]]:
    """(message, count, retransmissions) from the last message table SIPp printed."""
    last = stdout.rfind("Messages  Retrans")
    assert last >= 0, f"no message table in SIPp's output:\n{stdout[-2000:]}"
    rows = []
    for line in stdout[last:].splitlines()[1:]:
        m = re.match(r"^\s*(\S+)\s+(?:-+>|<-+)\s+(?:E-RTD\d\s+)?(\d+)\s+(\d+)", line)
        if m:
            rows.append((m.group(1), int(m.group(2)), int(m.group(3))))
        elif line.startswith("----"):
            break
    return rows
