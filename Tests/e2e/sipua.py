"""A small raw-UDP SIP user agent client for tests where SIPp is awkward.

Only what the tests need: build requests, parse responses, run
INVITE/ACK/BYE transactions against 127.0.0.1 with timeouts, and answer
requests the server sends in the dialog (e.g. a BYE after a media timeout).
"""

from __future__ import annotations

import random
import re
import socket
import time
from dataclasses import dataclass, field

COMPACT = {"i": "call-id", "f": "from", "t": "to", "v": "via", "m": "contact", "l": "content-length",
           "c": "content-type", "k": "supported", "s": "subject", "e": "content-encoding"}


@dataclass
class SipMessage:
    start_line: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def is_response(self) -> bool:
        return self.start_line.startswith("SIP/2.0 ")

    @property
    def status(self) -> int:
        return int(self.start_line.split()[1]) if self.is_response else 0

    @property
    def method(self) -> str:
        return "" if self.is_response else self.start_line.split()[0]

    def get(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if COMPACT.get(k.lower(), k.lower()) == name:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if COMPACT.get(k.lower(), k.lower()) == name]

    @property
    def cseq(self) -> tuple[int, str]:
        num, method = (self.get("cseq") or "0 NONE").split()
        return int(num), method

    def __str__(self) -> str:
        lines = [self.start_line] + [f"{k}: {v}" for k, v in self.headers]
        return "\r\n".join(lines) + "\r\n\r\n" + self.body.decode("utf-8", "replace")


def parse_message(data: bytes) -> SipMessage:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    lines = head.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
    msg = SipMessage(lines[0].strip())
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and msg.headers:  # folded header line
            k, v = msg.headers[-1]
            msg.headers[-1] = (k, v + " " + line.strip())
            continue
        if ":" in line:
            k, v = line.split(":", 1)
            msg.headers.append((k.strip(), v.strip()))
    msg.body = body
    return msg


def tag_of(header_value: str | None) -> str | None:
    if not header_value:
        return None
    m = re.search(r";\s*tag=([^;>\s]+)", header_value)
    return m.group(1) if m else None


def parse_sdp(body: bytes) -> dict:
    """Minimal SDP: session/media c= address, audio port, payload list, rtpmaps, fmtps."""
    sdp = {"c": None, "audio_port": None, "payloads": [], "rtpmap": {}, "fmtp": {}, "lines": []}
    media_c = None
    for line in body.decode("utf-8", "replace").splitlines():
        line = line.strip()
        sdp["lines"].append(line)
        if line.startswith("c="):
            addr = line.split()[-1].split("/")[0]
            if sdp["audio_port"] is None:
                sdp["c"] = addr
            else:
                media_c = addr
        elif line.startswith("m=audio"):
            parts = line.split()
            sdp["audio_port"] = int(parts[1])
            sdp["payloads"] = [int(p) for p in parts[3:]]
        elif line.startswith("a=rtpmap:"):
            pt, enc = line[len("a=rtpmap:"):].split(None, 1)
            sdp["rtpmap"][int(pt)] = enc
        elif line.startswith("a=fmtp:"):
            pt, params = line[len("a=fmtp:"):].split(None, 1)
            sdp["fmtp"][int(pt)] = params
    if media_c:
        sdp["c"] = media_c
    return sdp


def make_sdp(rtp_port: int, payloads=(0, 8, 101), ip: str = "127.0.0.1", extra_rtpmap: dict | None = None) -> str:
    rtpmap = {0: "PCMU/8000", 8: "PCMA/8000", 18: "G729/8000", 101: "telephone-event/8000"}
    rtpmap.update(extra_rtpmap or {})
    sess = random.randint(1, 2**31)
    lines = ["v=0", f"o=e2e {sess} {sess} IN IP4 {ip}", "s=-", f"c=IN IP4 {ip}", "t=0 0",
             f"m=audio {rtp_port} RTP/AVP {' '.join(str(p) for p in payloads)}"]
    for p in payloads:
        if p in rtpmap:
            lines.append(f"a=rtpmap:{p} {rtpmap[p]}")
        if rtpmap.get(p, "").startswith("telephone-event"):
            lines.append(f"a=fmtp:{p} 0-16")
    lines += ["a=ptime:20", "a=sendrecv"]
    return "\r\n".join(lines) + "\r\n"


def _rand(n: int = 10) -> str:
    return "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def require_local_address(host: str) -> None:
    """Skips the test when `host` (another loopback address, e.g. 127.0.0.66 for an attacker
    outside `sip.trusted`) cannot be bound here."""
    import pytest
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind((host, 0))
        probe.close()
    except OSError as e:
        pytest.skip(f"cannot bind {host}: {e}")


class SipUA:
    """One UDP socket on `local_host` (127.0.0.1 unless a test plays another host, e.g. an
    attacker on 127.0.0.66) talking to the server at host:server_port."""

    def __init__(self, server_port: int, host: str = "127.0.0.1", local_host: str = "127.0.0.1"):
        self.server = (host, server_port)
        self.local_host = local_host
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((local_host, 0))
        self.local_port = self.sock.getsockname()[1]
        self.received: list[SipMessage] = []  # every message seen, in order
        self.pending: list[SipMessage] = []   # messages not yet consumed by a wait

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- transport ---------------------------------------------------------
    def send_raw(self, data: bytes | str):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendto(data, self.server)

    def _recv_one(self, timeout: float) -> SipMessage | None:
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, _ = self.sock.recvfrom(65535)
        except socket.timeout:
            return None
        msg = parse_message(data)
        self.received.append(msg)
        if not msg.is_response:
            self._answer_request(msg)
        return msg

    def _answer_request(self, req: SipMessage):
        """Requests from the server (BYE, re-INVITE, OPTIONS...) get a 200 (ACK gets nothing)."""
        if req.method == "ACK":
            self.pending.append(req)
            return
        resp = ["SIP/2.0 200 OK"]
        for name in ("via",):
            resp += [f"Via: {v}" for v in req.get_all(name)]
        for name, hdr in (("from", "From"), ("to", "To"), ("call-id", "Call-ID"), ("cseq", "CSeq")):
            value = req.get(name)
            if value is not None:
                if name == "to" and tag_of(value) is None:
                    value += f";tag={_rand()}"
                resp.append(f"{hdr}: {value}")
        resp.append("Content-Length: 0")
        self.send_raw("\r\n".join(resp) + "\r\n\r\n")
        self.pending.append(req)

    def wait_for(self, pred, timeout: float) -> SipMessage | None:
        """First received message (already pending or arriving before timeout) matching pred."""
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.pending):
                if pred(m):
                    return self.pending.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            m = self._recv_one(left)
            if m is not None and m.is_response:
                self.pending.append(m)

    def wait_final(self, call_id: str, method: str, timeout: float) -> SipMessage | None:
        """Wait for the final (>= 200) response to `method` in `call_id`."""
        return self.wait_for(lambda m: m.is_response and m.get("call-id") == call_id
                             and m.cseq[1] == method and m.status >= 200, timeout)

    def wait_request(self, method: str, call_id: str | None, timeout: float) -> SipMessage | None:
        return self.wait_for(lambda m: not m.is_response and m.method == method
                             and (call_id is None or m.get("call-id") == call_id), timeout)

    # -- requests ----------------------------------------------------------
    def request(self, method: str, uri: str, call_id: str, cseq: int, from_tag: str, to_tag: str | None = None,
                to_uri: str | None = None, body: str = "", content_type: str | None = None,
                extra: list[str] | None = None, branch: str | None = None) -> str:
        branch = branch or "z9hG4bK" + _rand(12)
        to_uri = to_uri or uri
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {self.local_host}:{self.local_port};branch={branch};rport",
            "Max-Forwards: 70",
            f"From: <sip:e2e@{self.local_host}:{self.local_port}>;tag={from_tag}",
            f"To: <{to_uri}>" + (f";tag={to_tag}" if to_tag else ""),
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:e2e@{self.local_host}:{self.local_port}>",
            "User-Agent: parley-e2e",
        ]
        lines += extra or []
        if body:
            lines.append(f"Content-Type: {content_type or 'application/sdp'}")
        lines.append(f"Content-Length: {len(body.encode())}")
        return "\r\n".join(lines) + "\r\n\r\n" + body

    def options(self, timeout: float = 2.0) -> SipMessage | None:
        call_id = _rand(16) + "@e2e"
        uri = f"sip:{self.server[0]}:{self.server[1]}"
        self.send_raw(self.request("OPTIONS", uri, call_id, 1, _rand(), extra=["Accept: application/sdp"]))
        return self.wait_final(call_id, "OPTIONS", timeout)

    def invite(self, number: str, sdp: str, timeout: float = 5.0) -> "Call":
        call = Call(self, number)
        call.send_invite(sdp)
        call.final = self.wait_final(call.call_id, "INVITE", timeout)
        if call.final is not None:
            call.to_tag = tag_of(call.final.get("to"))
            call.provisional = [m for m in self.received if m.is_response and m.get("call-id") == call.call_id
                                and m.cseq[1] == "INVITE" and m.status < 200]
            if call.final.status >= 300:
                call.ack()  # non-2xx ACK, same transaction (branch)
        return call


class Call:
    def __init__(self, ua: SipUA, number: str):
        self.ua = ua
        self.uri = f"sip:{number}@{ua.server[0]}:{ua.server[1]}"
        self.call_id = _rand(16) + "@e2e"
        self.from_tag = _rand()
        self.to_tag: str | None = None
        self.cseq = 1
        self.invite_branch = "z9hG4bK" + _rand(12)
        self.final: SipMessage | None = None
        self.provisional: list[SipMessage] = []

    def send_invite(self, sdp: str):
        self.ua.send_raw(self.ua.request("INVITE", self.uri, self.call_id, self.cseq, self.from_tag,
                                         body=sdp, branch=self.invite_branch))

    @property
    def answer_sdp(self) -> dict:
        assert self.final is not None and self.final.status == 200, f"no 200 OK: {self.final}"
        return parse_sdp(self.final.body)

    def ack(self):
        if self.final is not None and self.final.status >= 300:
            # ACK for a non-2xx final response: same branch as the INVITE (RFC 3261 17.1.1.3)
            self.ua.send_raw(self.ua.request("ACK", self.uri, self.call_id, self.cseq, self.from_tag,
                                             to_tag=self.to_tag, branch=self.invite_branch))
        else:
            self.ua.send_raw(self.ua.request("ACK", self.remote_target(), self.call_id, self.cseq, self.from_tag,
                                             to_tag=self.to_tag, to_uri=self.uri))

    def remote_target(self) -> str:
        contact = self.final.get("contact") if self.final is not None else None
        if contact:
            m = re.search(r"<([^>]+)>", contact)
            return m.group(1) if m else contact.split(";")[0].strip()
        return self.uri

    def bye(self, timeout: float = 3.0) -> SipMessage | None:
        self.cseq += 1
        self.ua.send_raw(self.ua.request("BYE", self.remote_target(), self.call_id, self.cseq, self.from_tag,
                                         to_tag=self.to_tag, to_uri=self.uri))
        return self.ua.wait_final(self.call_id, "BYE", timeout)
