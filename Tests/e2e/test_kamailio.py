"""A call through a record-routing proxy: Debian's Kamailio, started by the test with a
generated configuration, in front of the real binary (issue 16, RFC 3261 §12.1.1, §16.12).

Kamailio record-routes the INVITE, so the dialog's route set is the proxy. Requests in the
dialog must follow it in both directions: the caller's ACK and BYE carry a Route to the
proxy, and the server's own in-dialog requests (here the BYE it sends when the caller's
media stops) go to the proxy with the Route header, not straight to the caller's Contact."""
from __future__ import annotations

import contextlib
import glob
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import rtp
import sipua
from conftest import free_udp_port, running_server

KAMAILIO = shutil.which("kamailio") or "/usr/sbin/kamailio"


def kamailio_config(listen_port: int, parley_port: int, modules: str) -> str:
    """A stateful record-routing proxy that sends every new request to Parley and routes
    in-dialog requests by their Route headers (loose routing)."""
    return f"""#!KAMAILIO
debug=2
log_stderror=yes
children=2
auto_aliases=no
listen=udp:127.0.0.1:{listen_port}
mpath="{modules}"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "pv.so"
loadmodule "textops.so"

request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_send_reply("404", "No Route"); exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    if (is_method("INVITE")) {{ record_route(); }}
    $du = "sip:127.0.0.1:{parley_port}";
    t_relay();
}}
"""


@contextlib.contextmanager
def running_kamailio(tmp_path: Path, parley_port: int):
    if not Path(KAMAILIO).exists():
        pytest.fail("kamailio is not installed (scripts/install-deps installs it)")
    modules = next(iter(sorted(glob.glob("/usr/lib/*/kamailio/modules"))), None)
    if modules is None:
        pytest.fail("no Kamailio module directory under /usr/lib/*/kamailio/modules")
    port = free_udp_port()
    cfg = tmp_path / "kamailio.cfg"
    cfg.write_text(kamailio_config(port, parley_port, modules))
    run = tmp_path / "kamailio-run"
    run.mkdir()
    check = subprocess.run([KAMAILIO, "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert check.returncode == 0, f"kamailio rejects the generated config:\n{check.stderr[-3000:]}"
    log = open(tmp_path / "kamailio.log", "wb")
    proc = subprocess.Popen([KAMAILIO, "-f", str(cfg), "-DD", "-E", "-m", "32", "-M", "4", "-Y", str(run),
                             "-w", str(run)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # Ready when it answers (it relays OPTIONS to Parley, whose 200 comes back).
        deadline = time.monotonic() + 10
        with sipua.SipUA(port) as probe:
            while time.monotonic() < deadline:
                assert proc.poll() is None, "kamailio exited:\n" + (tmp_path / "kamailio.log").read_text()[-3000:]
                r = probe.options(timeout=0.5)
                if r is not None and r.status == 200:
                    break
            else:
                pytest.fail("kamailio did not relay OPTIONS within 10 s:\n" + (tmp_path / "kamailio.log").read_text()[-3000:])
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def routes_of(message) -> list[str]:
    """The Record-Route URIs of a response, in the order the UAC uses them (§12.1.2: reversed)."""
    uris = []
    for value in message.get_all("record-route"):
        uris += re.findall(r"<([^>]+)>", value)
    return list(reversed(uris))


def in_dialog(ua, call, method, cseq, routes) -> str:
    """`method` in the call's dialog, to its remote target, with the route set as Route."""
    return ua.request(method, call.remote_target(), call.call_id, cseq, call.from_tag, to_tag=call.to_tag,
                      to_uri=call.uri, extra=[f"Route: <{r}>" for r in routes])


def test_a_call_through_a_record_routing_kamailio(parley_bin, prompts_dir, tmp_path):
    """Given Kamailio record-routing in front of Parley: an INVITE through it is answered 200
    with the proxy's Record-Route; audio flows; the ACK and the caller's BYE with a Route to
    the proxy reach Parley (200 back through the proxy). On a second call the caller sends
    no media: Parley's BYE arrives through the proxy (from its port, with the proxy's Via on
    top, the Request-URI the caller's Contact and the Route consumed), and Parley's own
    requests never go around the proxy."""
    # The first call lasts well under the media timeout, which ends the second.
    with running_server(parley_bin, tmp_path, prompts_dir, media_timeout=2.0) as server, \
            running_kamailio(tmp_path, server.sip_port) as proxy_port:
        with sipua.SipUA(proxy_port) as ua, rtp.RtpListener() as listener:
            call = ua.invite("100", sipua.make_sdp(listener.port, (0, 101)), timeout=5.0)
            assert call.final is not None and call.final.status == 200, f"INVITE via Kamailio: {call.final}{server.describe()}"
            routes = routes_of(call.final)
            assert routes and all(f"127.0.0.1:{proxy_port}" in r and ";lr" in r for r in routes), \
                f"the 200 should carry the proxy's Record-Route: {call.final}"
            ua.send_raw(in_dialog(ua, call, "ACK", call.cseq, routes))
            assert listener.wait_for(10, 3.0), "no RTP from Parley after the ACK through the proxy" + server.describe()
            call.cseq += 1
            ua.send_raw(in_dialog(ua, call, "BYE", call.cseq, routes))
            bye_ok = ua.wait_final(call.call_id, "BYE", 3.0)
            assert bye_ok is not None and bye_ok.status == 200, f"BYE via the route set: {bye_ok}{server.describe()}"
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline and not [e for e in server.call_events(call.call_id) if e["event"] == "call.ended"]:
                time.sleep(0.05)
            ended = [e for e in server.call_events(call.call_id) if e["event"] == "call.ended"]
            assert ended and ended[0].get("cause") == "bye", f"call.ended: {ended}{server.describe()}"

        # Second call: the caller stays silent, so Parley ends the call with its own BYE.
        with sipua.SipUA(proxy_port) as ua, rtp.RtpListener() as listener:
            call = ua.invite("100", sipua.make_sdp(listener.port, (0, 101)), timeout=5.0)
            assert call.final is not None and call.final.status == 200, f"second INVITE: {call.final}{server.describe()}"
            routes = routes_of(call.final)
            ua.send_raw(in_dialog(ua, call, "ACK", call.cseq, routes))
            ua.sock.settimeout(8.0)
            deadline = time.monotonic() + 8.0
            bye, source = None, None
            while time.monotonic() < deadline and bye is None:
                try:
                    data, addr = ua.sock.recvfrom(65535)
                except OSError:
                    break
                m = sipua.parse_message(data)
                if not m.is_response and m.method == "BYE" and m.get("call-id") == call.call_id:
                    bye, source = m, addr
                    ua._answer_request(m)
            assert bye is not None, "Parley sent no BYE after the media timeout" + server.describe()
            assert source == ("127.0.0.1", proxy_port), f"Parley's BYE came from {source}, not through the proxy on {proxy_port}"
            assert bye.start_line.startswith(f"BYE sip:e2e@127.0.0.1:{ua.local_port} "), bye.start_line
            vias = bye.get_all("via")
            assert len(vias) == 2 and f"127.0.0.1:{proxy_port}" in vias[0] and f":{server.sip_port}" in vias[1], \
                f"expected the proxy's Via over Parley's: {vias}"
            assert not bye.get_all("route"), f"the proxy should have consumed the Route: {bye}"
            assert sipua.tag_of(bye.get("from")) == call.to_tag and sipua.tag_of(bye.get("to")) == call.from_tag, bye
