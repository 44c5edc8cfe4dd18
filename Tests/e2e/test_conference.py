"""Conference rooms over real SIP and RTP on loopback: N−1 mixing with PCMU, PCMA and Opus
legs in one room (spectral check), the licence's seat limit, PIN entry and moderator keys."""
from __future__ import annotations

import struct
import threading
import time

import numpy as np
import pytest

import rtp
import sipua
from conftest import running_server
from test_opus import Opus, opus_offer

ROOMS = """    conferences:
      "300": { announce_count: false }
      "301": { pin: "1234" }
      "302": { moderator_pin: "9999", announce_count: false }
"""
NUMBERS = {"300": "{ conference: \"300\" }", "301": "{ conference: \"301\" }", "302": "{ conference: \"302\" }"}


def tenant_extra(license: str) -> str:
    return f"    licenses: {{ conference: {license} }}\n" + ROOMS


class Party:
    """One caller: a SIP UA, an RTP socket, a codec and the tone it sends."""

    def __init__(self, server, number: str, codec: str, freq: float, opus: Opus | None = None,
                 ua: sipua.SipUA | None = None):
        self.codec, self.freq, self.opus = codec, freq, opus
        self.ua = ua or sipua.SipUA(server.sip_port)
        self.listener = rtp.RtpListener()
        if codec == "opus":
            offer = opus_offer(self.listener.port)
        else:
            offer = sipua.make_sdp(self.listener.port, payloads=(0 if codec == "PCMU" else 8, 101))
        self.call = self.ua.invite(number, offer, timeout=5.0)
        self.status = self.call.final.status if self.call.final is not None else None
        if self.status == 200:
            self.call.ack()
            sdp = self.call.answer_sdp
            self.target = (sdp["c"], sdp["audio_port"])
            self.pt = 111 if codec == "opus" else (0 if codec == "PCMU" else 8)
            self.rate = 16000 if codec == "opus" else 8000
            self.encoder = opus.encoder(16000) if codec == "opus" else None
        self.ssrc = np.random.randint(1, 2**31)
        self.seq, self.ts, self.n = 1000, 0, 0
        self.te_pt = 101

    def send_frame(self):
        """One 20 ms frame of the party's tone (amplitude 1500)."""
        samples = self.rate // 50
        t = (np.arange(samples) + self.n * samples) / self.rate
        pcm = 1500 * np.sin(2 * np.pi * self.freq * t)
        self.n += 1
        if self.codec == "opus":
            payload, step = self.opus.encode(self.encoder, pcm), 960
        elif self.codec == "PCMU":
            payload, step = rtp.ulaw_encode(pcm), 160
        else:
            payload, step = rtp.alaw_encode(pcm), 160
        self.listener.sendto(rtp.build_rtp(self.pt, self.seq, self.ts, self.ssrc, payload, marker=self.n == 1), self.target)
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (self.ts + step) & 0xFFFFFFFF

    def send_key(self, digit: str):
        """An RFC 4733 key press (100 ms) at the negotiated telephone-event clock."""
        event = "0123456789*#".index(digit)
        clock = 48000 if self.codec == "opus" else 8000
        pt = 101
        for i in range(8):
            end = i >= 5
            payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, clock // 50 * min(i + 1, 5))
            self.listener.sendto(rtp.build_rtp(pt, self.seq, self.ts, self.ssrc, payload, marker=i == 0), self.target)
            self.seq = (self.seq + 1) & 0xFFFF
            time.sleep(0.02)
        self.ts = (self.ts + clock // 50 * 6) & 0xFFFFFFFF

    def received(self, since: float) -> tuple[np.ndarray, int]:
        """Audio received since `since` (monotonic), decoded, and its rate."""
        packets = [(t, rtp.parse_rtp(d)) for t, d, _ in self.listener.snapshot()]
        packets = [(t, p) for t, p in packets if p is not None and p.payload_type == self.pt]
        if self.codec == "opus":
            dec = self.opus.decoder(16000)
            frames = [(t, self.opus.decode(dec, p.payload)) for t, p in packets]
        else:
            frames = [(t, rtp.g711_decode(p.payload, p.payload_type)) for t, p in packets]
        kept = [f for t, f in frames if t >= since]
        return (np.concatenate(kept).astype(np.float64) if kept else np.zeros(0)), self.rate

    def wait_bye(self, timeout: float):
        return self.ua.wait_for(lambda m: not m.is_response and m.method == "BYE" and m.get("call-id") == self.call.call_id, timeout)

    def close(self):
        if self.status == 200:
            try:
                self.call.bye(timeout=1.0)
            except Exception:
                pass
        self.listener.close()
        self.ua.close()


def tone_power(audio: np.ndarray, rate: int, freq: float) -> float:
    """Power (dB) in ±4 Hz around `freq` of a Hann-windowed FFT."""
    window = np.hanning(len(audio))
    spectrum = np.abs(np.fft.rfft(audio * window)) ** 2
    bins = np.fft.rfftfreq(len(audio), 1 / rate)
    band = (bins > freq - 4) & (bins < freq + 4)
    return 10 * np.log10(spectrum[band].sum() + 1e-9)


def local_floor(audio: np.ndarray, rate: int, freq: float) -> float:
    """Power (dB) of the bands 20 Hz either side of `freq`, averaged."""
    return 10 * np.log10((10 ** (tone_power(audio, rate, freq - 20) / 10) + 10 ** (tone_power(audio, rate, freq + 20) / 10)) / 2)


def pick_tones(k: int, lo: int = 300, hi: int = 3300, tol: int = 6, spacing: int = 40) -> list[int]:
    """k tones in the telephone band, at least `spacing` Hz apart, such that no third-order
    product a + b - c of any of them falls within `tol` Hz of one of them: G.711's companding
    and Opus make such products, and one landing on a caller's own tone would read as an echo."""
    tones: list[int] = []
    f = lo
    while len(tones) < k and f <= hi:
        if all(abs(f - t) >= spacing for t in tones):
            cand = tones + [f]
            products = [a + b - c for a in cand for b in cand for c in cand if c != a and c != b]
            if all(abs(t - p) > tol for t in cand for p in products):
                tones.append(f)
        f += 3
    assert len(tones) == k, f"only {len(tones)} tones fit"
    return tones


class Sender:
    """Sends every party's next frame each 20 ms, on one thread."""

    def __init__(self, parties):
        self.parties = parties
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        start = time.monotonic()
        n = 0
        while not self.stop.is_set():
            for p in list(self.parties):
                if p.status == 200:
                    p.send_frame()
            n += 1
            delay = start + n * 0.02 - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def close(self):
        self.stop.set()
        self.thread.join(timeout=2)


def last_two_seconds(parties) -> list:
    """Each party's last two seconds of received audio and its rate, once the join prompts are
    over: waits 3 s, records 4 s (with 15 callers the test's own receiving threads can fall a
    second behind on a busy machine) and gives the receivers up to 8 s more to catch up."""
    # The first caller's "you are the first participant" and the join chimes end well within 3 s.
    time.sleep(3.0)
    since = time.monotonic()
    time.sleep(4.0)
    deadline = time.monotonic() + 8.0
    while time.monotonic() < deadline and any(len(p.received(since)[0]) < p.rate * 2 for p in parties):
        time.sleep(0.5)
    tails = []
    for i, p in enumerate(parties):
        audio, rate = p.received(since)
        assert len(audio) >= rate * 2, f"caller {i} ({p.codec}) received {len(audio)} samples"
        tails.append((audio[-rate * 2:], rate))
    return tails


CODECS = ["PCMU", "PCMA", "opus"]


@pytest.mark.parametrize("k,license", [(2, "basic"), (3, "basic"), (15, "premium")])
def test_every_participant_hears_all_others_and_not_itself(parley_bin, prompts_dir, tmp_path, k, license):
    """Given k callers in room 300 with PCMU, PCMA and Opus legs, each sending its own sine
    tone, when all are in, then each one's received audio holds every other caller's tone
    (at least 10 dB above the floor between the tones) and not its own (at least 15 dB below
    the weakest other tone). With the room at the licence's
    size (3 basic, 15 premium), one more caller hears conf-full and is hung up."""
    opus = Opus()
    freqs = pick_tones(k)
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=tenant_extra(license),
                        inband_dtmf="auto") as server:
        parties: list[Party] = []
        sender = Sender(parties)
        try:
            for i in range(k):
                p = Party(server, "300", CODECS[i % 3], freqs[i], opus)
                assert p.status == 200, f"caller {i}: {p.call.final}{server.describe()}"
                parties.append(p)
            joined = server.wait_event(lambda e: e.get("event") == "conference.joined" and e.get("count") == k, 10.0)
            assert joined is not None, "not everyone joined" + server.describe()
            tails = last_two_seconds(parties)
            for i, p in enumerate(parties):
                audio, rate = tails[i]
                powers = {f: tone_power(audio, rate, f) for f in freqs}
                # Each tone against the floor right beside it (±20 Hz): codec noise (Opus above all)
                # follows the signal's spectrum, so one floor for the whole band would not do.
                floors = {f: local_floor(audio, rate, f) for f in freqs}
                others = [f for f in freqs if f != p.freq]
                weakest = min(powers[f] - floors[f] for f in others)
                own = powers[p.freq]
                print(f"k={k} caller {i} {p.codec} {p.freq} Hz: own {own:.1f} dB (floor {floors[p.freq]:.1f}), "
                      f"weakest other {weakest:.1f} dB above its floor")
                assert weakest > 8, f"caller {i} ({p.codec}) misses a tone: {powers}, floors {floors}"
                # Sending a steady tone, the caller is a talker: the room said so once (and no stop yet).
                talking = [e.get("talking") for e in server.events()
                           if e.get("event") == "conference.talking" and e.get("call_id") == p.call.call_id]
                assert talking == ["true"], f"caller {i}: talker events {talking}"
                # Absent: near its floor, or far below the others (a self-echo would be within ~10 dB of them).
                assert own < max(floors[p.freq] + 6, min(powers[f] for f in others) - 25), \
                    f"caller {i} ({p.codec}) hears itself: {powers}, floors {floors}"

            if k < {"basic": 3, "premium": 15}[license]:
                return
            # One more than the licence allows (the 4th on basic, the 16th on premium): answered,
            # hears conf-full, hung up.
            extra = Party(server, "300", "PCMU", 3000.0, opus)
            assert extra.status == 200, f"{extra.call.final}"
            assert extra.wait_bye(8.0) is not None, "the caller over the limit was not hung up" + server.describe()
            refused = server.wait_event(lambda e: e.get("event") == "conference.refused" and e.get("reason") == "full"
                                        and e.get("call_id") == extra.call.call_id, 2.0)
            assert refused is not None, server.describe()
            heard = [e for e in server.events() if e.get("call_id") == extra.call.call_id and e.get("event") == "prompt.started"]
            assert any(e.get("prompt") == "conf-full" for e in heard), heard
            extra.listener.close()
            extra.ua.close()
        finally:
            sender.close()
            for p in parties:
                p.close()


def test_wrong_pin_three_times_disconnects(parley_bin, prompts_dir, tmp_path):
    """Given room 301 with PIN 1234, a caller who enters 1111# three times hears
    conf-invalid-pin each time and is hung up; the right PIN joins."""
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=tenant_extra("basic"),
                        inband_dtmf="auto") as server:
        p = Party(server, "301", "PCMU", 500.0)
        try:
            assert p.status == 200
            time.sleep(1.0)
            for attempt in range(3):
                # Keys typed while conf-invalid-pin plays are dropped (the PIN is asked afresh): wait for the question.
                asked = server.wait_event(lambda e: e.get("event") == "prompt.started" and e.get("prompt") == "conf-enter-pin"
                                          and len([x for x in server.events() if x.get("event") == "prompt.started"
                                                   and x.get("prompt") == "conf-enter-pin"]) >= attempt + 1, 8.0)
                assert asked is not None, server.describe()
                for d in "1111#":
                    p.send_key(d)
                    time.sleep(0.05)
                rejected = server.wait_event(lambda e: e.get("event") == "conference.pin_rejected"
                                             and e.get("attempt") == attempt + 1, 8.0)
                assert rejected is not None, f"attempt {attempt + 1} not rejected" + server.describe()
            assert p.wait_bye(10.0) is not None, "not hung up after three wrong PINs" + server.describe()
            assert not [e for e in server.events() if e.get("event") == "conference.joined"]
        finally:
            p.status = None
            p.close()
        q = Party(server, "301", "PCMA", 500.0)
        try:
            time.sleep(1.0)
            for d in "1234#":
                q.send_key(d)
                time.sleep(0.05)
            assert server.wait_event(lambda e: e.get("event") == "conference.joined", 8.0) is not None, server.describe()
        finally:
            q.close()


def test_moderator_kicks_the_last_joined_and_locks_the_room(parley_bin, prompts_dir, tmp_path):
    """Given room 302 with moderator PIN 9999: the moderator (9999#) and two callers (#, no
    PIN) are in; the moderator's 9 hangs up the caller who joined last; 8 locks the room, so a
    new caller hears conf-locked and is hung up; 1 mutes the moderator (conf-muted)."""
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=tenant_extra("premium"),
                        inband_dtmf="auto") as server:
        parties = []
        try:
            moderator = Party(server, "302", "PCMU", 500.0)
            parties.append(moderator)
            time.sleep(0.8)
            for d in "9999#":
                moderator.send_key(d)
                time.sleep(0.05)
            assert server.wait_event(lambda e: e.get("event") == "conference.joined" and e.get("moderator") == "yes", 8.0), server.describe()
            for n in range(2):
                c = Party(server, "302", "PCMA", 700.0 + 200 * n)
                parties.append(c)
                time.sleep(0.8)
                c.send_key("#")
                assert server.wait_event(lambda e: e.get("event") == "conference.joined" and e.get("count") == n + 2, 8.0), server.describe()
            time.sleep(0.5)
            moderator.send_key("9")
            assert parties[2].wait_bye(5.0) is not None, "the last joined was not removed" + server.describe()
            assert parties[1].wait_bye(0.5) is None, "the wrong caller was removed"
            parties[2].status = None
            moderator.send_key("8")
            assert server.wait_event(lambda e: e.get("event") == "conference.key" and e.get("action") == "lock", 5.0), server.describe()
            late = Party(server, "302", "PCMU", 900.0)
            parties.append(late)
            assert late.wait_bye(10.0) is not None, "a caller got into a locked room" + server.describe()
            late.status = None
            refused = [e for e in server.events() if e.get("event") == "conference.refused" and e.get("call_id") == late.call.call_id]
            assert refused and refused[0].get("reason") == "locked", refused
            moderator.send_key("1")
            assert server.wait_event(lambda e: e.get("event") == "conference.key" and e.get("action") == "mute-self", 5.0), server.describe()
        finally:
            for p in parties:
                p.close()


def test_a_flooding_a_silent_and_an_ssrc_switching_caller_do_not_stall_the_room(parley_bin, prompts_dir, tmp_path):
    """Given four callers in room 300: one sends ten packets per 20 ms for two seconds, one
    switches SSRC mid-call, one sends nothing; then the fourth still hears the flooding and
    the switching callers' tones, and the server stays up."""
    freqs = pick_tones(3)
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=tenant_extra("premium"),
                        inband_dtmf="auto", media_timeout=10.0) as server:
        parties: list[Party] = []
        sender = Sender(parties)
        try:
            flooder = Party(server, "300", "PCMU", freqs[0])
            switcher = Party(server, "300", "PCMA", freqs[1])
            listener = Party(server, "300", "PCMU", freqs[2])
            silent = Party(server, "300", "PCMU", 3000.0)
            silent_status, silent.status = silent.status, None  # joined, but sends nothing
            for p in (flooder, switcher, listener):
                assert p.status == 200
                parties.append(p)
            assert server.wait_event(lambda e: e.get("event") == "conference.joined" and e.get("count") == 4, 10.0), server.describe()
            time.sleep(2.0)
            switcher.ssrc ^= 0x5A5A5A5A
            end = time.monotonic() + 2.0
            while time.monotonic() < end:
                for _ in range(9):
                    flooder.send_frame()
                time.sleep(0.02)
            since = time.monotonic()
            time.sleep(3.0)
            audio, rate = listener.received(since)
            assert len(audio) >= rate * 2, f"the listener got {len(audio)} samples"
            audio = audio[-rate * 2:]
            for f in freqs[:2]:
                assert tone_power(audio, rate, f) > local_floor(audio, rate, f) + 8, f"{f} Hz missing after the flood/switch"
            assert server.alive()
            silent.status = silent_status
        finally:
            sender.close()
            for p in parties + [silent]:
                p.close()


def test_silent_listeners_share_the_encoded_mix_and_hear_every_talker(parley_bin, prompts_dir, tmp_path):
    """Given two talkers (PCMU, Opus) and four silent listeners (two PCMU, two Opus) in room
    300, when the talkers send their tones, then every listener — whose legs send the room's
    one shared encode per codec instead of encoding for themselves — hears both tones, each
    talker hears the other, and only the talkers are reported talking."""
    opus = Opus()
    talk_freqs = [500, 1300]
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=tenant_extra("premium"),
                        inband_dtmf="auto") as server:
        parties: list[Party] = []
        sender = Sender(parties)
        try:
            for codec, freq in [("PCMU", 500), ("opus", 1300), ("PCMU", 0), ("PCMU", 0), ("opus", 0), ("opus", 0)]:
                p = Party(server, "300", codec, freq, opus)
                assert p.status == 200, f"{p.call.final}{server.describe()}"
                parties.append(p)
            assert server.wait_event(lambda e: e.get("event") == "conference.joined" and e.get("count") == 6, 10.0), \
                "not everyone joined" + server.describe()
            tails = last_two_seconds(parties)
            for i, p in enumerate(parties):
                audio, rate = tails[i]
                for f in talk_freqs:
                    if f == p.freq:
                        continue
                    above = tone_power(audio, rate, f) - local_floor(audio, rate, f)
                    assert above > 8, f"caller {i} ({p.codec}, {p.freq} Hz) misses {f} Hz: {above:.1f} dB"
                talking = [e.get("talking") for e in server.events()
                           if e.get("event") == "conference.talking" and e.get("call_id") == p.call.call_id]
                assert talking == (["true"] if p.freq else []), f"caller {i}: talker events {talking}"
        finally:
            sender.close()
            for p in parties:
                p.close()
