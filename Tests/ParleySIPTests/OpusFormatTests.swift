import Testing
@testable import ParleySIP

@Suite("Opus payload format in SDP (RFC 7587)")
struct OpusFormatTests {
    @Test("a WebRTC fmtp line parses; unknown parameters are kept; formatting round-trips")
    func webRTC() throws {
        let (pt, p) = try OpusParameters.parse(fmtp: "111 minptime=10;useinbandfec=1")
        #expect(pt == 111)
        #expect(p == OpusParameters(useInbandFEC: true, minptime: 10))
        #expect(p.formatted == "useinbandfec=1;minptime=10")
        #expect(try OpusParameters.parse(p.formatted) == p)

        let text = "maxplaybackrate=16000; sprop-maxcapturerate=8000;MaxAverageBitrate=20000 ;stereo=0;sprop-stereo=0;"
            + "cbr=1;useinbandfec=0;usedtx=1;ptime=20;maxptime=60;x-vendor=abc;flagonly"
        let full = try OpusParameters.parse(text)
        #expect(full == OpusParameters(maxPlaybackRate: 16000, spropMaxCaptureRate: 8000, maxAverageBitrate: 20000,
                                       stereo: false, spropStereo: false, cbr: true, useInbandFEC: false, useDTX: true,
                                       ptime: 20, maxptime: 60, other: [.init("x-vendor", "abc"), .init("flagonly", nil)]))
        #expect(full.formatted == "maxplaybackrate=16000;sprop-maxcapturerate=8000;maxaveragebitrate=20000;stereo=0;sprop-stereo=0;"
            + "cbr=1;useinbandfec=0;usedtx=1;ptime=20;maxptime=60;x-vendor=abc;flagonly")
        #expect(try OpusParameters.parse(full.formatted) == full)
    }

    @Test("every known parameter round-trips alone", arguments: [
        OpusParameters(maxPlaybackRate: 8000), OpusParameters(spropMaxCaptureRate: 48000),
        OpusParameters(maxAverageBitrate: 6000), OpusParameters(maxAverageBitrate: 510_000),
        OpusParameters(stereo: true), OpusParameters(spropStereo: true), OpusParameters(cbr: false),
        OpusParameters(useInbandFEC: true), OpusParameters(useDTX: false), OpusParameters(ptime: 3),
        OpusParameters(minptime: 10), OpusParameters(maxptime: 120), OpusParameters(),
    ])
    func roundTrip(_ p: OpusParameters) throws {
        #expect(try OpusParameters.parse(p.formatted) == p)
        if let attr = OpusFormat.fmtpAttribute(payloadType: 96, parameters: p), let value = attr.value {
            #expect(attr.name == "fmtp")
            let parsed = try OpusParameters.parse(fmtp: value)
            #expect(parsed.payloadType == 96 && parsed.parameters == p)
        } else {
            #expect(p == OpusParameters(), "only all-default parameters give no fmtp line")
        }
    }

    @Test("bad values of known parameters are errors naming parameter and value, or ignored on request")
    func badValues() throws {
        #expect(throws: OpusFormatError.invalidValue(parameter: "useinbandfec", value: "2", expected: "0 or 1")) {
            try OpusParameters.parse("useinbandfec=2")
        }
        #expect(throws: OpusFormatError.invalidValue(parameter: "maxplaybackrate", value: "96000", expected: "an integer 8000...48000 Hz")) {
            try OpusParameters.parse("maxplaybackrate=96000")
        }
        #expect(throws: OpusFormatError.invalidValue(parameter: "maxaveragebitrate", value: "lots", expected: "an integer 6000...510000 b/s")) {
            try OpusParameters.parse("maxaveragebitrate=lots")
        }
        #expect(throws: OpusFormatError.invalidValue(parameter: "maxptime", value: "99999999999999999999", expected: "an integer 3...120 ms")) {
            try OpusParameters.parse("maxptime=99999999999999999999")
        }
        #expect(throws: OpusFormatError.invalidValue(parameter: "stereo", value: "", expected: "0 or 1")) { try OpusParameters.parse("stereo=") }
        #expect(throws: OpusFormatError.invalidValue(parameter: "usedtx", value: "true", expected: "0 or 1")) { try OpusParameters.parse("usedtx=true") }
        #expect(throws: OpusFormatError.missingValue(parameter: "cbr")) { try OpusParameters.parse("cbr") }
        #expect(throws: OpusFormatError.invalidValue(parameter: "ptime", value: "+20", expected: "an integer 3...120 ms")) { try OpusParameters.parse("ptime=+20") }
        #expect(OpusFormatError.invalidValue(parameter: "useinbandfec", value: "2", expected: "0 or 1").description
            == "Opus fmtp parameter useinbandfec=2 is invalid: expected 0 or 1")

        let (p, ignored) = OpusParameters.parseIgnoringInvalid("maxplaybackrate=96000;useinbandfec=1;usedtx=yes")
        #expect(p == OpusParameters(useInbandFEC: true))
        #expect(ignored.count == 2)

        // Empty items and whitespace are tolerated; a repeated parameter takes its last value.
        #expect(try OpusParameters.parse(" ; stereo=1;;\tstereo = 0 ;") == OpusParameters(stereo: false))
        #expect(try OpusParameters.parse("") == OpusParameters())
    }

    @Test("a=fmtp values without a payload type are refused")
    func malformedFmtp() throws {
        #expect(throws: OpusFormatError.malformedFmtp("useinbandfec=1")) { try OpusParameters.parse(fmtp: "useinbandfec=1") }
        #expect(throws: OpusFormatError.malformedFmtp("300 stereo=1")) { try OpusParameters.parse(fmtp: "300 stereo=1") }
        #expect(throws: OpusFormatError.malformedFmtp("111x stereo=1")) { try OpusParameters.parse(fmtp: "111x stereo=1") }
        #expect(try OpusParameters.parse(fmtp: "a=fmtp:101 stereo=1").payloadType == 101)
        #expect(try OpusParameters.parse(fmtp: "101").parameters == OpusParameters())
    }

    @Test("the rtpmap is opus/48000/2; Opus is recognized in an offer with its parameters")
    func inSDP() throws {
        #expect(OpusFormat.rtpmapAttribute(payloadType: 111) == .init("rtpmap", "111 opus/48000/2"))
        let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\nm=audio 40000 RTP/AVP 111 0\r\n"
            + "a=rtpmap:111 OPUS/48000/2\r\na=fmtp:111 maxplaybackrate=16000;useinbandfec=1\r\na=ptime:20\r\na=maxptime:40\r\n"
        let m = try #require(try SessionDescription.parse(text).media.first)
        let map = try #require(m.rtpmap("111"))
        #expect(OpusFormat.isOpus(map))
        #expect(!OpusFormat.isOpus((name: "opus", rate: 16000, channels: 2)))
        #expect(OpusFormat.isOpus((name: "opus", rate: 48000, channels: 1)))
        let p = try OpusFormat.parameters(in: m, payloadType: "111")
        #expect(p == OpusParameters(maxPlaybackRate: 16000, useInbandFEC: true, ptime: 20, maxptime: 40))
        // No fmtp at all: every default.
        #expect(try OpusFormat.parameters(in: m, payloadType: "0") == OpusParameters(ptime: 20, maxptime: 40))

        // Our own description serializes and parses back.
        let ours = OpusParameters(maxPlaybackRate: 16000, spropMaxCaptureRate: 16000, useInbandFEC: true)
        let fmtp = try #require(OpusFormat.fmtpAttribute(payloadType: 111, parameters: ours))
        var sd = SessionDescription(origin: "- 1 1 IN IP4 127.0.0.1", connection: "127.0.0.1")
        sd.media = [.init(type: "audio", port: 20000, proto: "RTP/AVP", formats: ["111"],
                          attributes: [OpusFormat.rtpmapAttribute(payloadType: 111), fmtp])]
        let serialized = sd.serialized()
        #expect(serialized.contains("a=rtpmap:111 opus/48000/2\r\na=fmtp:111 maxplaybackrate=16000;sprop-maxcapturerate=16000;useinbandfec=1\r\n"))
        let back = try #require(try SessionDescription.parse(serialized).media.first)
        #expect(try OpusFormat.parameters(in: back, payloadType: "111") == ours)
    }

    @Test("settings: sample rates from maxplaybackrate and sprop-maxcapturerate")
    func sampleRates() throws {
        func rates(peer: OpusParameters, local: OpusParameters = .init()) throws -> (Int, Int) {
            let s = try OpusFormat.settings(peer: peer, local: local)
            return (s.encodeSampleRate, s.decodeSampleRate)
        }
        // Nothing said: fullband both ways.
        #expect(try rates(peer: .init()) == (48000, 48000))
        // The peer plays up to 16 kHz: encode wideband. It captures at 8 kHz: decode narrowband.
        #expect(try rates(peer: .init(maxPlaybackRate: 16000, spropMaxCaptureRate: 8000)) == (16000, 8000))
        // In-between values: encode at the rate below (never wider than the peer plays),
        // decode at the rate above (never lose what it sends).
        #expect(try rates(peer: .init(maxPlaybackRate: 24000, spropMaxCaptureRate: 12000)) == (16000, 16000))
        #expect(try rates(peer: .init(maxPlaybackRate: 12000)) == (8000, 48000))
        // Our own limits: prompts captured at 8 kHz, a 16 kHz playback path.
        #expect(try rates(peer: .init(), local: .init(maxPlaybackRate: 16000, spropMaxCaptureRate: 8000)) == (8000, 16000))
    }

    @Test("settings: FEC, DTX, CBR and the bitrate cap follow the peer")
    func encoderFlags() throws {
        let plain = try OpusFormat.settings(peer: .init(), local: .init())
        #expect(plain == OpusStreamSettings(encodeSampleRate: 48000, decodeSampleRate: 48000, bitrate: 24_000, inbandFEC: false,
                                            expectedPacketLossPercent: 0, dtx: false, constantBitrate: false, packetMilliseconds: 20))
        let webRTC = try OpusFormat.settings(peer: OpusParameters.parse("minptime=10;useinbandfec=1;usedtx=1"), local: .init(),
                                             expectedPacketLossPercent: 15)
        #expect(webRTC.inbandFEC && webRTC.expectedPacketLossPercent == 15 && webRTC.dtx && !webRTC.constantBitrate)
        // Our own useinbandfec says what *we* can decode; it does not turn on our encoder's FEC.
        #expect(try !OpusFormat.settings(peer: .init(), local: .init(useInbandFEC: true)).inbandFEC)
        #expect(try OpusFormat.settings(peer: .init(cbr: true), local: .init()).constantBitrate)
        #expect(try OpusFormat.settings(peer: .init(maxAverageBitrate: 16000), local: .init()).bitrate == 16000)
        #expect(try OpusFormat.settings(peer: .init(maxAverageBitrate: 64000), local: .init()).bitrate == 24_000)
        #expect(try OpusFormat.settings(peer: .init(maxAverageBitrate: 64000), local: .init(), preferredBitrate: 40_000).bitrate == 40_000)
    }

    @Test("settings: a peer that will not take 20 ms packets is an error")
    func packetTime() throws {
        #expect(throws: OpusFormatError.unsupportedPacketTime(milliseconds: 20, peerMin: nil, peerMax: 10)) {
            try OpusFormat.settings(peer: .init(maxptime: 10), local: .init())
        }
        #expect(throws: OpusFormatError.unsupportedPacketTime(milliseconds: 20, peerMin: 40, peerMax: nil)) {
            try OpusFormat.settings(peer: .init(minptime: 40), local: .init())
        }
        #expect(try OpusFormat.settings(peer: .init(minptime: 10, maxptime: 20), local: .init()).packetMilliseconds == 20)
    }
}
