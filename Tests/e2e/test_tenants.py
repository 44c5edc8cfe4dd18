"""Tenant isolation over SIP: the Request-URI host picks the tenant, and nothing a caller puts
in the Request-URI, To or Route reaches another tenant's numbers, menus or prompts."""
from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest

import rtp
import sipua
from conftest import running_server
from test_shutdown_recording import leave_message_then, messages

# Tenant "demo" (domains 127.0.0.1, localhost) and tenant "other" (b.example), each with
# numbers of its own; "other" overrides the welcome prompt with a 1 kHz tone.
OTHER_TENANT = """  other:
    domains: [b.example]
    prompts: {prompts}
    numbers:
      "100": {{ play: welcome }}
      "200": {{ play: thank-you }}
      "201": {{ menu: secret }}
    menus:
      secret:
        greeting: welcome
        options: {{ "1": {{ play: thank-you }} }}
"""


@pytest.fixture
def two_tenants(parley_bin, prompts_dir, tmp_path):
    other_prompts = tmp_path / "other-prompts"
    other_prompts.mkdir()
    t = np.arange(8000) / 8000.0
    rtp.write_wav(other_prompts / "welcome.wav", 8000 * np.sin(2 * np.pi * 1000 * t))
    numbers = {"100": "{ play: welcome }", "150": "{ play: thank-you }"}
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=numbers,
                        tenant_extra=OTHER_TENANT.format(prompts=other_prompts)) as server:
        yield server


def invite_raw(ua: sipua.SipUA, uri: str, to_uri: str | None = None, extra: list[str] | None = None,
               rtp_port: int = 9) -> sipua.SipMessage | None:
    """INVITE with exactly this Request-URI (and To); the final response is ACKed or BYEd."""
    call_id = sipua._rand(16) + "@e2e"
    branch = "z9hG4bK" + sipua._rand(12)
    from_tag = sipua._rand()
    ua.send_raw(ua.request("INVITE", uri, call_id, 1, from_tag, to_uri=to_uri, body=sipua.make_sdp(rtp_port),
                           extra=extra, branch=branch))
    final = ua.wait_final(call_id, "INVITE", 5.0)
    if final is not None and final.status >= 300:
        ua.send_raw(ua.request("ACK", uri, call_id, 1, from_tag, to_tag=sipua.tag_of(final.get("to")),
                               to_uri=to_uri, branch=branch))
    elif final is not None:
        to_tag = sipua.tag_of(final.get("to"))
        ua.send_raw(ua.request("ACK", uri, call_id, 1, from_tag, to_tag=to_tag, to_uri=to_uri))
        ua.send_raw(ua.request("BYE", uri, call_id, 2, from_tag, to_tag=to_tag, to_uri=to_uri))
        ua.wait_final(call_id, "BYE", 3.0)
    return final


CROSS_TENANT_URIS = [
    # (Request-URI, To URI or None, extra headers): host of "demo", a number only "other" has.
    ("sip:200@127.0.0.1:{port}", None, None),
    ("sip:201@127.0.0.1:{port}", None, None),
    ("sip:200@127.0.0.1:{port}", "sip:200@b.example", None),
    ("sip:200@localhost:{port}", "sip:200@b.example", ["Route: <sip:b.example;lr>"]),
    ("sip:200%40b.example@127.0.0.1:{port}", None, None),
    ("sip:200;tenant=other@127.0.0.1:{port}", None, None),
    ("sip:200@127.0.0.1:{port};maddr=b.example", None, None),
    ("sip:other/200@127.0.0.1:{port}", None, None),
    ("sip:..%2Fother%2F200@127.0.0.1:{port}", None, None),
    ("sip:%32%30%30@127.0.0.1:{port}", None, None),
    ("sip:200@b.example@127.0.0.1:{port}", None, None),
    ("sip:200@127.0.0.1:{port}?To=sip:200@b.example", None, None),
]


@pytest.mark.parametrize("uri,to_uri,extra", CROSS_TENANT_URIS)
def test_a_caller_of_one_tenant_never_reaches_another_tenants_numbers(two_tenants, uri, to_uri, extra):
    """Given tenants demo (127.0.0.1) and other (b.example), when a caller sends demo's host
    with one of other's numbers in any disguise, then the call is refused (4xx) and no call of
    tenant other starts."""
    with sipua.SipUA(two_tenants.sip_port) as ua:
        final = invite_raw(ua, uri.format(port=two_tenants.sip_port), to_uri=to_uri, extra=extra)
    assert final is not None, f"no final response to {uri}" + two_tenants.describe()
    assert 400 <= final.status < 500, f"{uri} got {final.status} {final}"
    received = [e for e in two_tenants.events() if e.get("event") == "call.received"]
    assert all(e.get("tenant") != "other" for e in received), received
    assert two_tenants.alive()


def test_each_tenant_reaches_only_its_own_numbers(two_tenants):
    """The same host rule both ways: demo's 150 is not other's, other's 200 is not demo's,
    and each tenant's own numbers answer."""
    port = two_tenants.sip_port
    with sipua.SipUA(port) as ua:
        assert invite_raw(ua, f"sip:150@b.example:{port}").status == 404
        assert invite_raw(ua, f"sip:150@127.0.0.1:{port}").status == 200
        assert invite_raw(ua, f"sip:200@B.Example:{port}").status == 200
    tenants = [(e.get("tenant"), e.get("number")) for e in two_tenants.events() if e.get("event") == "call.received"]
    assert tenants == [("demo", "150"), ("other", "200")], tenants


def heard(server, uri: str, seconds: float = 1.6) -> np.ndarray:
    with sipua.SipUA(server.sip_port) as ua, rtp.RtpListener() as listener:
        call_id = sipua._rand(16) + "@e2e"
        from_tag = sipua._rand()
        ua.send_raw(ua.request("INVITE", uri, call_id, 1, from_tag, body=sipua.make_sdp(listener.port)))
        final = ua.wait_final(call_id, "INVITE", 5.0)
        assert final is not None and final.status == 200, final
        to_tag = sipua.tag_of(final.get("to"))
        ua.send_raw(ua.request("ACK", uri, call_id, 1, from_tag, to_tag=to_tag))
        time.sleep(seconds)
        ua.send_raw(ua.request("BYE", uri, call_id, 2, from_tag, to_tag=to_tag))
        ua.wait_final(call_id, "BYE", 3.0)
        return rtp.decode_stream([rtp.parse_rtp(p[1]) for p in listener.snapshot()])


def test_a_tenants_prompt_override_is_heard_by_its_callers_only(two_tenants, prompts_dir):
    """Tenant other overrides `welcome` with a tone: its callers hear the tone; demo's callers
    of the same number and prompt name hear the system welcome, never the tone."""
    port = two_tenants.sip_port
    welcome, _ = rtp.read_wav(prompts_dir / "welcome.wav")
    tone = 8000 * np.sin(2 * np.pi * 1000 * np.arange(4000) / 8000.0)
    demo_audio = heard(two_tenants, f"sip:100@127.0.0.1:{port}")
    other_audio = heard(two_tenants, f"sip:100@b.example:{port}")
    demo_welcome, _ = rtp.normalized_xcorr(demo_audio, welcome)
    demo_tone, _ = rtp.normalized_xcorr(demo_audio, tone)
    other_tone, _ = rtp.normalized_xcorr(other_audio, tone)
    assert demo_welcome >= 0.9, f"demo's caller did not hear the system welcome ({demo_welcome:.2f})"
    assert demo_tone < 0.5, f"demo's caller heard other's override ({demo_tone:.2f})"
    assert other_tone >= 0.9, f"other's caller did not hear its override ({other_tone:.2f})"


MAILBOX_TENANTS = """    mailboxes:
      "1001": { name: Demo Alice, pin: "2580" }
  other:
    domains: [b.example]
    numbers:
      "300": { voicemail: "1001" }
    mailboxes:
      "1001": { name: Other Alice, pin: "2580" }
"""


def test_a_message_lands_in_the_callers_tenant_only(parley_bin, prompts_dir, tmp_path):
    """Given tenants demo and other, each with mailbox 1001 behind number 300, when a caller of
    demo leaves a message and hangs up, then demo's 1001 holds it and other's 1001 stays empty."""
    numbers = {"300": '{ voicemail: "1001" }'}
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=numbers, tenant_extra=MAILBOX_TENANTS) as server:
        leave_message_then(server, lambda call: call.bye(), talk_s=2.5, expect_bye=False)
        done = server.wait_event(lambda e: e.get("event") == "voicemail.deposit", 10.0)
        assert done is not None and done.get("outcome") == "sent", done
        assert len(messages(parley_bin, server)) == 1
        other = subprocess.run([str(parley_bin), "messages", "list", "--config", str(server.config_path), "other", "1001"],
                               capture_output=True, text=True, timeout=20)
        assert other.returncode == 0 and other.stdout.splitlines()[1:] == [], other.stdout + other.stderr


# Rooms: demo has room 300; other has its own room 300 and a room 301 demo does not have.
ROOM_TENANTS = """    conferences:
      "300": { announce_count: false }
  other:
    domains: [b.example]
    numbers:
      "300": { conference: "300" }
      "301": { conference: "301" }
    conferences:
      "300": { announce_count: false }
      "301": { announce_count: false }
"""
ROOM_NUMBERS = {"300": '{ conference: "300" }'}


class DomainUA(sipua.SipUA):
    """A UA on loopback whose Request-URIs name `domain` (the tenant's host) instead of 127.0.0.1."""

    def __init__(self, server_port: int, domain: str):
        super().__init__(server_port)
        self.address = ("127.0.0.1", server_port)
        self.server = (domain, server_port)

    def send_raw(self, data: bytes | str):
        self.sock.sendto(data.encode() if isinstance(data, str) else data, self.address)


def joined(server, call_id: str) -> list[dict]:
    return [e for e in server.events() if e.get("event") == "conference.joined" and e.get("call_id") == call_id]


CROSS_TENANT_ROOM_URIS = [
    # demo's host with a room number only "other" has, disguised as for the numbers above.
    ("sip:301@127.0.0.1:{port}", None, None),
    ("sip:301@127.0.0.1:{port}", "sip:301@b.example", None),
    ("sip:301@localhost:{port}", "sip:301@b.example", ["Route: <sip:b.example;lr>"]),
    ("sip:301%40b.example@127.0.0.1:{port}", None, None),
    ("sip:301;tenant=other@127.0.0.1:{port}", None, None),
    ("sip:301@127.0.0.1:{port};maddr=b.example", None, None),
    ("sip:other/301@127.0.0.1:{port}", None, None),
    ("sip:other%2F301@127.0.0.1:{port}", None, None),
    ("sip:301@b.example@127.0.0.1:{port}", None, None),
    ("sip:301@127.0.0.1:{port}?To=sip:301@b.example", None, None),
]


def test_same_named_rooms_are_separate_and_no_uri_reaches_another_tenants_room(parley_bin, prompts_dir, tmp_path):
    """Given demo's room 300 and other's rooms 300 and 301, when a caller of each tenant dials
    its own 300, then each is alone in its room (joined with count 1) and does not hear the
    other's tone; and while other's caller sits in 301, a caller of demo sending 301 in any
    disguise is refused (4xx) and never joins a room. A second caller of demo's 300 is heard
    in demo's room and not in other's (the tone check's control)."""
    from test_conference import Party, Sender, local_floor, tone_power
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=ROOM_NUMBERS, tenant_extra=ROOM_TENANTS) as server:
        port = server.sip_port
        demo = Party(server, "300", "PCMU", 700.0)
        other = Party(server, "300", "PCMU", 1900.0, ua=DomainUA(port, "b.example"))
        parties = [demo, other]
        sender = Sender(parties)
        try:
            assert demo.status == 200 and other.status == 200, (demo.call.final, other.call.final)
            for p in parties:
                assert server.wait_event(lambda e, p=p: e.get("event") == "conference.joined" and e.get("call_id") == p.call.call_id, 5.0), \
                    "a caller never joined" + server.describe()
            received = {e.get("call_id"): e.get("tenant") for e in server.events() if e.get("event") == "call.received"}
            assert received == {demo.call.call_id: "demo", other.call.call_id: "other"}, received

            # other's caller in 301, then demo's disguised attempts at it.
            in_301 = Party(server, "301", "PCMU", 1100.0, ua=DomainUA(port, "b.example"))
            parties.append(in_301)
            assert in_301.status == 200 and server.wait_event(
                lambda e: e.get("event") == "conference.joined" and e.get("call_id") == in_301.call.call_id, 5.0), server.describe()
            since = time.monotonic()
            with sipua.SipUA(port) as ua:
                for uri, to_uri, extra in CROSS_TENANT_ROOM_URIS:
                    final = invite_raw(ua, uri.format(port=port), to_uri=to_uri, extra=extra)
                    assert final is not None and 400 <= final.status < 500, f"{uri}: {final}"
            time.sleep(max(0.0, 1.5 - (time.monotonic() - since)))

            joins = [e for e in server.events() if e.get("event") == "conference.joined"]
            assert sorted(e.get("call_id") for e in joins) == sorted(p.call.call_id for p in parties), joins
            assert all(e.get("count") == 1 for e in joins), f"two callers shared a room: {joins}"
            assert not [e for e in server.events() if e.get("event") == "call.received" and e.get("tenant") == "other"
                        and e.get("call_id") not in (other.call.call_id, in_301.call.call_id)]
            for listener, stranger in [(demo, other), (other, demo), (in_301, demo)]:
                audio, rate = listener.received(since)
                assert len(audio) >= rate, f"{listener.freq} Hz caller received {len(audio)} samples"
                above = tone_power(audio, rate, stranger.freq) - local_floor(audio, rate, stranger.freq)
                print(f"{listener.freq:.0f} Hz caller: {stranger.freq:.0f} Hz tone {above:.1f} dB above its floor")
                assert above < 12, f"a caller heard another tenant's room ({above:.1f} dB)"
            # The check can fail: a second caller of demo's 300 shares demo's room — heard there, not in other's 300.
            mate = Party(server, "300", "PCMU", 2500.0)
            parties.append(mate)
            assert mate.status == 200 and server.wait_event(
                lambda e: e.get("event") == "conference.joined" and e.get("call_id") == mate.call.call_id and e.get("count") == 2, 5.0), \
                server.describe()
            since = time.monotonic()
            time.sleep(1.5)
            for listener, expected in [(demo, True), (other, False)]:
                audio, rate = listener.received(since)
                above = tone_power(audio, rate, mate.freq) - local_floor(audio, rate, mate.freq)
                print(f"{listener.freq:.0f} Hz caller: demo's second caller {above:.1f} dB above its floor")
                assert (above > 20) if expected else (above < 12), f"{listener.freq:.0f} Hz caller: {above:.1f} dB"
            assert server.alive()
        finally:
            sender.close()
            for p in parties:
                p.close()
