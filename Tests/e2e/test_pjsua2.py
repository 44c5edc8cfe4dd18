"""A call from PJSIP (pjsua2's Python bindings, PyPI pjsua2-python): a SIP stack nobody here
wrote places a G.711 call, sends RFC 4733 DTMF and hangs up."""
from __future__ import annotations

import time

try:
    import pjsua2 as pj
except ImportError as error:  # a missing peer is a failure, not a skip
    raise ImportError("pjsua2 is missing: run the suite through scripts/test, which installs PyPI "
                      "pjsua2-python into .venv-e2e") from error


class Call(pj.Call):
    def __init__(self, account):
        super().__init__(account)
        self.states: list[str] = []
        self.media_active = False
        self.last_status = 0

    def onCallState(self, prm):
        info = self.getInfo()
        self.states.append(info.stateText)
        self.last_status = info.lastStatusCode

    def onCallMediaState(self, prm):
        info = self.getInfo()
        for i, media in enumerate(info.media):
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                self.media_active = True


def pump(ep, seconds: float, until=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ep.libHandleEvents(20)
        if until is not None and until():
            return True
    return until() if until is not None else True


def start_endpoint(ep, clock_rate: int | None = None, no_vad: bool = False):
    """One UDP transport on 127.0.0.1, no sound device, G.711 only (PCMU first); events are
    handled on this thread (pump). `clock_rate` sets the media bridge's rate (e.g. 8000 so a
    recorder writes 8 kHz WAV); `no_vad` keeps RTP flowing while nobody speaks."""
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.logConfig.level = 1
    cfg.logConfig.consoleLevel = 1
    cfg.medConfig.hasIoqueue = True
    cfg.medConfig.noVad = no_vad
    if clock_rate:
        cfg.medConfig.clockRate = clock_rate
        cfg.medConfig.sndClockRate = clock_rate
    ep.libInit(cfg)
    tcfg = pj.TransportConfig()
    tcfg.port = 0
    tcfg.boundAddress = "127.0.0.1"
    ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
    ep.libStart()
    ep.audDevManager().setNullDev()
    for codec in ep.codecEnum2():
        prio = {"PCMU/8000/1": 255, "PCMA/8000/1": 254}.get(codec.codecId, 0)
        ep.codecSetPriority(codec.codecId, prio)


def account_config(id_uri: str):
    """An account whose media is bound to and announced at 127.0.0.1, so its SDP names the
    address its RTP really comes from: Parley takes media only from the SDP's host by default
    (docs/security.md), and pjsua would otherwise announce the host's first interface."""
    acfg = pj.AccountConfig()
    acfg.idUri = id_uri
    acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    return acfg


def hang_up(ep, call, account):
    """Hangs up, waits for the BYE to complete and releases the account."""
    call.hangup(pj.CallOpParam())
    pump(ep, 1.0, lambda: "DISCONNCTD" in call.states)
    account.shutdown()


def test_pjsua2_places_a_g711_call_with_rfc4733_dtmf(parley_server):
    ep = pj.Endpoint()
    ep.libCreate()
    try:
        start_endpoint(ep)

        acfg = account_config("sip:pjsua2@127.0.0.1")
        acfg.sipConfig.proxies = pj.StringVector()
        account = pj.Account()
        account.create(acfg)

        call = Call(account)
        prm = pj.CallOpParam(True)
        call.makeCall(f"sip:100@127.0.0.1:{parley_server.sip_port}", prm)
        assert pump(ep, 5.0, lambda: call.media_active), f"no active media; states {call.states}{parley_server.describe()}"
        pump(ep, 1.0)
        call.dialDtmf("159#")
        pump(ep, 2.0)
        stat = call.getStreamStat(0)
        rx_packets = stat.rtcp.rxStat.pkt
        hang_up(ep, call, account)
        del call
    finally:
        ep.libDestroy()

    assert rx_packets > 50, f"pjsua2 received {rx_packets} RTP packets from the server"
    events = parley_server.events()
    answered = [e for e in events if e.get("event") == "call.answered"]
    assert answered and answered[0].get("codec") == "PCMU", answered
    dtmf = [(e["digit"], e["source"]) for e in events if e.get("event") == "dtmf"]
    assert dtmf == [("1", "rfc4733"), ("5", "rfc4733"), ("9", "rfc4733"), ("#", "rfc4733")], dtmf
    ended = parley_server.wait_event(lambda e: e.get("event") == "call.ended", 3.0)
    assert ended is not None and ended.get("cause") == "bye" and ended.get("rtp_in", 0) > 50, ended
