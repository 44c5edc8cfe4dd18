"""RTP/G.711/pcap/audio helpers for the end-to-end tests.

Everything here is independent of the server: G.711 mu-law and A-law
(written from the G.711 formulas), a libpcap writer for RTP streams that
SIPp's ``play_pcap_audio`` can replay, an in-band DTMF generator, an RTP
capture listener, WAV reading and a normalized cross-correlation.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import wave
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 8000
SAMPLES_PER_PACKET = 160  # 20 ms at 8 kHz
PT_PCMU = 0
PT_PCMA = 8
CODEC_PT = {"PCMU": PT_PCMU, "PCMA": PT_PCMA}

# ---------------------------------------------------------------------------
# G.711
# ---------------------------------------------------------------------------

_MULAW_BIAS = 0x84


def ulaw_decode(data) -> np.ndarray:
    """mu-law bytes -> int16 samples (16-bit scale, +-32124)."""
    u = ~np.frombuffer(bytes(data), dtype=np.uint8).astype(np.int32) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + _MULAW_BIAS) << exponent) - _MULAW_BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def ulaw_encode(samples) -> bytes:
    """int16 samples -> mu-law bytes (G.711 decision levels on the 14-bit value)."""
    s14 = np.asarray(samples, dtype=np.int32) >> 2
    mask = np.where(s14 < 0, 0x7F, 0xFF)
    # bias 33 in the 14-bit scale; magnitudes past the last segment saturate (0x1FFF)
    mag = np.minimum(np.minimum(np.abs(s14), 8159) + 0x21, 0x1FFF)
    # segment: position of the highest set bit of (mag >> 5), 0..7
    seg = np.zeros_like(mag)
    for e in range(1, 8):
        seg = np.where(mag >= (0x20 << e), e, seg)
    out = ((seg << 4) | ((mag >> (seg + 1)) & 0x0F)) ^ mask
    return out.astype(np.uint8).tobytes()


def alaw_decode(data) -> np.ndarray:
    """A-law bytes -> int16 samples (16-bit scale, +-32256)."""
    a = np.frombuffer(bytes(data), dtype=np.uint8).astype(np.int32) ^ 0x55
    sign = a & 0x80  # in A-law a set sign bit means positive
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = np.where(
        exponent == 0,
        (mantissa << 4) + 8,
        ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0),
    )
    return np.where(sign != 0, magnitude, -magnitude).astype(np.int16)


def alaw_encode(samples) -> bytes:
    """int16 samples -> A-law bytes."""
    s = np.asarray(samples, dtype=np.int32)
    sign = np.where(s >= 0, 0x80, 0x00)
    mag = np.minimum(np.where(s >= 0, s, -s - 1), 32767) >> 3  # 12-bit magnitude (13-bit signed)
    exponent = np.zeros_like(mag)
    for e in range(1, 8):
        exponent = np.where(mag >= (0x10 << e), e, exponent)
    mantissa = np.where(exponent == 0, mag >> 1, mag >> exponent) & 0x0F
    out = (sign | (exponent << 4) | mantissa) ^ 0x55
    return out.astype(np.uint8).tobytes()


def g711_decode(payload: bytes, pt: int) -> np.ndarray:
    if pt == PT_PCMU:
        return ulaw_decode(payload)
    if pt == PT_PCMA:
        return alaw_decode(payload)
    raise ValueError(f"not a G.711 payload type: {pt}")


# Level of a sine that is 0 dBm0 in G.711: the full-scale sine (peak 32124 in
# the 16-bit scale used above) is +3.17 dBm0 (G.711 table 5 / digital mW).
DBM0_PEAK = 32124 * 10 ** (-3.17 / 20)


def dbm0_to_peak(level_dbm0: float) -> float:
    return DBM0_PEAK * 10 ** (level_dbm0 / 20)


# ---------------------------------------------------------------------------
# RTP
# ---------------------------------------------------------------------------


@dataclass
class RtpPacket:
    version: int
    padding: bool
    extension: bool
    csrc_count: int
    marker: bool
    payload_type: int
    seq: int
    timestamp: int
    ssrc: int
    payload: bytes


def parse_rtp(data: bytes) -> RtpPacket:
    """Parse an RTP header (RFC 3550); raises ValueError on a short/invalid packet."""
    if len(data) < 12:
        raise ValueError(f"RTP packet too short: {len(data)} bytes")
    b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
    version = b0 >> 6
    if version != 2:
        raise ValueError(f"RTP version {version}")
    cc = b0 & 0x0F
    off = 12 + 4 * cc
    ext = bool(b0 & 0x10)
    if ext:
        if len(data) < off + 4:
            raise ValueError("truncated RTP extension")
        (_, words) = struct.unpack("!HH", data[off:off + 4])
        off += 4 + 4 * words
    end = len(data)
    pad = bool(b0 & 0x20)
    if pad:
        end -= data[-1]
    if off > end:
        raise ValueError("RTP header longer than packet")
    return RtpPacket(version, pad, ext, cc, bool(b1 & 0x80), b1 & 0x7F, seq, ts, ssrc, data[off:end])


def build_rtp(pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool = False) -> bytes:
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | (pt & 0x7F),
                       seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc & 0xFFFFFFFF) + payload


class RtpListener:
    """UDP socket on 127.0.0.1 that records every datagram with its arrival time."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((host, port))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.packets: list[tuple[float, bytes, tuple]] = []  # (monotonic time, data, source addr)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rtp-listener-{self.port}", daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                break
            with self._lock:
                self.packets.append((time.monotonic(), data, addr))

    def sendto(self, data: bytes, addr: tuple[str, int]):
        """Send from the listening socket (so the source is the port we offered)."""
        self.sock.sendto(data, addr)

    def snapshot(self) -> list[tuple[float, bytes, tuple]]:
        with self._lock:
            return list(self.packets)

    def count(self) -> int:
        with self._lock:
            return len(self.packets)

    def wait_for(self, n: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() >= n:
                return True
            time.sleep(0.02)
        return self.count() >= n

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def decode_stream(packets: list[RtpPacket]) -> np.ndarray:
    """Concatenate G.711 payloads, placed by RTP timestamp (gaps filled with zeros)."""
    audio = [p for p in packets if p.payload_type in (PT_PCMU, PT_PCMA)]
    if not audio:
        return np.zeros(0, dtype=np.float64)
    ts0 = audio[0].timestamp
    end = max(((p.timestamp - ts0) & 0xFFFFFFFF) + len(p.payload) for p in audio)
    out = np.zeros(end, dtype=np.float64)
    for p in audio:
        off = (p.timestamp - ts0) & 0xFFFFFFFF
        out[off:off + len(p.payload)] = g711_decode(p.payload, p.payload_type)
    return out


# ---------------------------------------------------------------------------
# WAV
# ---------------------------------------------------------------------------


def read_wav(path) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV; returns (mono float64 samples, sample rate)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit PCM, got {8 * w.getsampwidth()}-bit")
        rate, channels = w.getframerate(), w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1)
    return data, rate


def write_wav(path, samples, rate: int = SAMPLE_RATE):
    s = np.clip(np.round(np.asarray(samples, dtype=np.float64)), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(s.tobytes())


# ---------------------------------------------------------------------------
# Correlation
# ---------------------------------------------------------------------------


def _fft_xcorr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """c[k] = sum_i x[k+i] * y[i] for k = 0 .. len(x)-len(y) (len(x) >= len(y))."""
    n = len(x) + len(y) - 1
    nfft = 1 << (n - 1).bit_length()
    c = np.fft.irfft(np.fft.rfft(x, nfft) * np.conj(np.fft.rfft(y, nfft)), nfft)
    return c[: len(x) - len(y) + 1]


def normalized_xcorr(received, reference) -> tuple[float, int]:
    """Max over lags of sum(x*y)/sqrt(sum(x^2)*sum(y^2)), x being the window of
    `received` of the length of `reference` starting at the lag (received is
    zero-padded if shorter). Returns (score, lag in samples)."""
    score = xcorr_scores(received, reference)
    k = int(np.argmax(score))
    return float(score[k]), k


def xcorr_scores(received, reference) -> np.ndarray:
    """The normalized cross-correlation at every lag (see normalized_xcorr)."""
    y = np.asarray(reference, dtype=np.float64)
    x = np.asarray(received, dtype=np.float64)
    if len(y) == 0:
        raise ValueError("empty reference")
    if len(x) < len(y):
        x = np.concatenate([x, np.zeros(len(y) - len(x))])
    num = _fft_xcorr(x, y)
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    ex = csum[len(y):] - csum[: len(x) - len(y) + 1]
    ey = float(np.dot(y, y))
    den = np.sqrt(np.maximum(ex, 0.0) * ey)
    # windows with (numerically) no energy cannot correlate
    valid = den > 1e-9 * max(ey, 1.0)
    score = np.zeros_like(num)
    score[valid] = num[valid] / den[valid]
    return score


# ---------------------------------------------------------------------------
# DTMF
# ---------------------------------------------------------------------------

DTMF_FREQS = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
    "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633),
}
DTMF_ROW = (697, 770, 852, 941)
DTMF_COL = (1209, 1336, 1477, 1633)


def dtmf_samples(digits: str, tone_ms: int = 100, gap_ms: int = 100, level_dbm0: float = -10.0,
                 lead_ms: int = 100, tail_ms: int = 100, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Linear samples: lead silence, then each digit's tone followed by a gap, then tail silence."""
    amp = dbm0_to_peak(level_dbm0)
    parts = [np.zeros(rate * lead_ms // 1000)]
    n = rate * tone_ms // 1000
    t = np.arange(n) / rate
    for i, d in enumerate(digits):
        lo, hi = DTMF_FREQS[d]
        parts.append(amp * (np.sin(2 * np.pi * lo * t) + np.sin(2 * np.pi * hi * t)))
        parts.append(np.zeros(rate * (gap_ms if i < len(digits) - 1 else tail_ms) // 1000))
    return np.concatenate(parts)


def goertzel_power(frame: np.ndarray, freq: float, rate: int = SAMPLE_RATE) -> float:
    coeff = 2 * np.cos(2 * np.pi * freq / rate)
    s1 = s2 = 0.0
    for v in frame:
        s0 = v + coeff * s1 - s2
        s2, s1 = s1, s0
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def detect_dtmf(samples: np.ndarray, rate: int = SAMPLE_RATE, block: int = 160) -> str:
    """Simple block Goertzel DTMF detector (for validating generated signals only):
    a digit is reported once when it is seen in 2 consecutive blocks."""
    digits, prev, run, reported = [], None, 0, False
    for start in range(0, len(samples) - block + 1, block):
        f = samples[start:start + block].astype(np.float64)
        energy = float(np.dot(f, f))
        cur = None
        if energy > block * 100.0 ** 2:
            rp = [goertzel_power(f, fr, rate) for fr in DTMF_ROW]
            cp = [goertzel_power(f, fr, rate) for fr in DTMF_COL]
            r, c = int(np.argmax(rp)), int(np.argmax(cp))
            # both tones carry most of the block's energy (Goertzel power ~ (A*N/2)^2)
            tone_energy = 2 * (rp[r] + cp[c]) / block
            if tone_energy > 0.6 * energy:
                cur = next(k for k, v in DTMF_FREQS.items() if v == (DTMF_ROW[r], DTMF_COL[c]))
        if cur is not None and cur == prev:
            run += 1
        else:
            run, reported = (1 if cur else 0), False
        if cur is not None and run >= 2 and not reported:
            digits.append(cur)
            reported = True
        prev = cur
    return "".join(digits)


# ---------------------------------------------------------------------------
# pcap
# ---------------------------------------------------------------------------


def _ip_checksum(header: bytes) -> int:
    if len(header) % 2:
        header += b"\0"
    s = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _udp_frame(src_ip: str, dst_ip: str, sport: int, dport: int, payload: bytes, ip_id: int) -> bytes:
    udp_len = 8 + len(payload)
    src, dst = socket.inet_aton(src_ip), socket.inet_aton(dst_ip)
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_UDP, udp_len)
    udp_nock = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    csum = _ip_checksum(pseudo + udp_nock) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, udp_len, csum) + payload
    ip_nock = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, ip_id & 0xFFFF, 0x4000, 64,
                          socket.IPPROTO_UDP, 0, src, dst)
    ip = ip_nock[:10] + struct.pack("!H", _ip_checksum(ip_nock)) + ip_nock[12:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + struct.pack("!H", 0x0800)
    return eth + ip + udp


def write_pcap(path, frames: list[tuple[float, bytes]]):
    """libpcap file, linktype 1 (Ethernet); frames are (timestamp seconds, frame bytes)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, frame in frames:
            sec = int(ts)
            usec = int(round((ts - sec) * 1e6))
            if usec >= 1000000:
                sec, usec = sec + 1, usec - 1000000
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            f.write(frame)


def read_pcap(path) -> list[tuple[float, RtpPacket, tuple[int, int]]]:
    """Read back an Ethernet/IPv4/UDP/RTP pcap: [(ts, rtp, (sport, dport))]."""
    data = open(path, "rb").read()
    magic, _, _, _, _, _, linktype = struct.unpack("<IHHiIII", data[:24])
    if magic != 0xA1B2C3D4 or linktype != 1:
        raise ValueError("unsupported pcap")
    off, out = 24, []
    while off < len(data):
        sec, usec, incl, _orig = struct.unpack("<IIII", data[off:off + 16])
        off += 16
        frame = data[off:off + incl]
        off += incl
        ihl = (frame[14] & 0x0F) * 4
        sport, dport, ulen, _ = struct.unpack("!HHHH", frame[14 + ihl:14 + ihl + 8])
        out.append((sec + usec / 1e6, parse_rtp(frame[14 + ihl + 8:14 + ihl + ulen]), (sport, dport)))
    return out


def write_rtp_pcap(path, payloads: list[bytes], pt: int, ssrc: int, seq0: int, ts0: int,
                   marker_first: bool = True, start_time: float = 1_700_000_000.0,
                   src: tuple[str, int] = ("127.0.0.1", 6000), dst: tuple[str, int] = ("127.0.0.1", 10000)):
    """One RTP stream, one packet of 160 samples every 20 ms."""
    frames = []
    for i, payload in enumerate(payloads):
        pkt = build_rtp(pt, seq0 + i, ts0 + i * SAMPLES_PER_PACKET, ssrc, payload, marker=marker_first and i == 0)
        frames.append((start_time + i * 0.020, _udp_frame(src[0], dst[0], src[1], dst[1], pkt, i)))
    write_pcap(path, frames)


def write_inband_dtmf_pcap(path, digits: str, ssrc: int, seq0: int, ts0: int, total_ms: int | None = None,
                           tone_ms: int = 100, gap_ms: int = 100, level_dbm0: float = -10.0,
                           lead_ms: int = 100) -> np.ndarray:
    """mu-law (PT 0) RTP pcap with in-band DTMF `digits`, padded with silence up to
    `total_ms` (so the caller keeps sending media for the rest of the call).
    Returns the linear samples that were encoded."""
    samples = dtmf_samples(digits, tone_ms, gap_ms, level_dbm0, lead_ms=lead_ms, tail_ms=gap_ms)
    if total_ms is not None:
        total = SAMPLE_RATE * total_ms // 1000
        if total > len(samples):
            samples = np.concatenate([samples, np.zeros(total - len(samples))])
    pad = (-len(samples)) % SAMPLES_PER_PACKET
    samples = np.concatenate([samples, np.zeros(pad)])
    encoded = ulaw_encode(np.round(samples).astype(np.int32))
    payloads = [encoded[i:i + SAMPLES_PER_PACKET] for i in range(0, len(encoded), SAMPLES_PER_PACKET)]
    write_rtp_pcap(path, payloads, PT_PCMU, ssrc, seq0, ts0, marker_first=True)
    return samples
