import ParleyFuzzChecks
import ParleyRTP

/// Which parsers the fuzzer drives: `rtp` (RTP, RTCP, telephone-event) or `sip` (SIP
/// messages, URIs, addresses, SDP). Set from PARLEY_FUZZ_TARGET before libFuzzer starts.
nonisolated(unsafe) var fuzzTarget = "rtp"

/// libFuzzer entry point (built only with PARLEY_FUZZ=1; see scripts/fuzz). Every input goes
/// through the three untrusted-byte parsers: RTP, RTCP compound, RFC 4733 telephone-event.
/// libFuzzer reports a crash, a sanitizer finding, or a failed invariant below.
@_cdecl("LLVMFuzzerTestOneInput")
public func parleyFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if fuzzTarget == "sip" {
        SIPFuzzChecks.check(Array(bytes))
        return 0
    }
    RTPFuzzChecks.check(bytes)
    return 0
}

