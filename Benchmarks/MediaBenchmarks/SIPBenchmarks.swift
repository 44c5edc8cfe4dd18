import Benchmark
import ParleySIP

/// SIP message parse and serialize for a typical INVITE with SDP and its 200 OK.
/// One message per sample, so the malloc column counts allocations per message.
func registerSIPBenchmarks() {
    let perMessage = Benchmark.Configuration(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .one,
                                             maxDuration: .seconds(2), maxIterations: 200_000)
    let sdp = "v=0\r\no=- 3911 3911 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\n"
        + "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    let invite = Array(("INVITE sip:100@pbx.acme.example SIP/2.0\r\n"
        + "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"
        + "Via: SIP/2.0/UDP 198.51.100.3:5060;branch=z9hG4bKnashds8\r\n"
        + "Max-Forwards: 69\r\nTo: <sip:100@pbx.acme.example>\r\n"
        + "From: \"Alice Martin\" <sip:alice@acme.example>;tag=1928301774\r\n"
        + "Call-ID: a84b4c76e66710@pc33.acme.example\r\nCSeq: 314159 INVITE\r\n"
        + "Contact: <sip:alice@192.0.2.10:5060>\r\nAllow: INVITE, ACK, CANCEL, OPTIONS, BYE, INFO\r\n"
        + "Supported: timer, replaces\r\nUser-Agent: Desk phone 1.0\r\nContent-Type: application/sdp\r\n"
        + "Content-Length: \(sdp.utf8.count)\r\n\r\n" + sdp).utf8)
    let parser = SIPParser()
    guard let parsed = try? parser.parse(invite) else { return }
    var ok = SIPMessage(startLine: .response(status: 200, reason: "OK"))
    for h in parsed.headers where ["Via", "From", "To", "Call-ID", "CSeq"].contains(h.name) { ok.headers.append(h) }
    ok.append("Contact", "<sip:100@203.0.113.5:5060>")
    ok.append("Content-Type", "application/sdp")
    ok.body = Array(sdp.utf8)
    let okBytes = ok.serialized()

    Benchmark("SIP parse INVITE with SDP", configuration: perMessage) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try? parser.parse(invite)) }
    }
    Benchmark("SIP parse 200 OK with SDP", configuration: perMessage) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try? parser.parse(okBytes)) }
    }
    Benchmark("SIP serialize INVITE", configuration: perMessage) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(parsed.serialized()) }
    }
    Benchmark("SIP serialize 200 OK", configuration: perMessage) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(ok.serialized()) }
    }
    Benchmark("SDP parse offer + build answer", configuration: perMessage) { benchmark in
        let answerer = OfferAnswer()
        for _ in benchmark.scaledIterations {
            if let offer = try? SessionDescription.parse(sdp) {
                blackHole(try? answerer.answer(offer: offer, localAddress: "203.0.113.5", localPort: 20000, sessionID: 1))
            }
        }
    }
}
