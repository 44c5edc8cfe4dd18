import ParleyFuzzChecks
import ParleyRTP
import ParleyServerFuzzChecks

/// Which parsers the fuzzer drives: `rtp` (RTP, RTCP, telephone-event), `sip` (SIP
/// messages, URIs, addresses, SDP, TCP framing), `mail` (spool files, SMTP replies, composed headers) or
/// `config` (the whole configuration parser). Set from PARLEY_FUZZ_TARGET before libFuzzer starts.
nonisolated(unsafe) var fuzzTarget = "rtp"

/// libFuzzer entry point (built only with PARLEY_FUZZ=1; see scripts/fuzz). Every input goes
/// through the chosen target's checks (rtp: RTP, RTCP compound, RFC 4733 telephone-event).
/// libFuzzer reports a crash, a sanitizer finding, or a failed invariant below.
@_cdecl("LLVMFuzzerTestOneInput")
public func parleyFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    switch fuzzTarget {
    case "sip":
        SIPFuzzChecks.check(Array(bytes))
        SIPStreamFuzzChecks.check(Array(bytes))
    case "mail": MailFuzzChecks.check(Array(bytes))
    case "config": ConfigFuzzChecks.check(Array(bytes))
    default: RTPFuzzChecks.check(bytes)
    }
    return 0
}
