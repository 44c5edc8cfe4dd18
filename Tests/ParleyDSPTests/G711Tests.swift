import CSpanDSP
import Testing
@testable import ParleyDSP

@Suite("G.711 against spandsp")
struct G711Tests {
    @Test("µ-law encoding matches spandsp for all 65,536 inputs, scalar and SIMD")
    func ulawEncodeAll() {
        let input = (Int32(Int16.min)...Int32(Int16.max)).map { Int16($0) }
        var simd = [UInt8](repeating: 0, count: input.count)
        input.withUnsafeBufferPointer { i in simd.withUnsafeMutableBufferPointer { o in _ = G711.encode(.ulaw, i, into: o) } }
        var simd16 = [UInt8](repeating: 0, count: input.count)
        input.withUnsafeBufferPointer { i in simd16.withUnsafeMutableBufferPointer { o in _ = G711.encodeSIMD16(.ulaw, i, into: o) } }
        #expect(simd16 == simd)
        var mismatches = 0
        for (k, x) in input.enumerated() {
            let ref = parley_spandsp_linear_to_ulaw(x)
            if G711.ulaw(x) != ref || simd[k] != ref { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test("A-law encoding matches spandsp for all 65,536 inputs, scalar and SIMD")
    func alawEncodeAll() {
        let input = (Int32(Int16.min)...Int32(Int16.max)).map { Int16($0) }
        var simd = [UInt8](repeating: 0, count: input.count)
        input.withUnsafeBufferPointer { i in simd.withUnsafeMutableBufferPointer { o in _ = G711.encode(.alaw, i, into: o) } }
        var simd16 = [UInt8](repeating: 0, count: input.count)
        input.withUnsafeBufferPointer { i in simd16.withUnsafeMutableBufferPointer { o in _ = G711.encodeSIMD16(.alaw, i, into: o) } }
        #expect(simd16 == simd)
        var mismatches = 0
        for (k, x) in input.enumerated() {
            let ref = parley_spandsp_linear_to_alaw(x)
            if G711.alaw(x) != ref || simd[k] != ref { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test("decoding matches spandsp for all 256 codes of each law")
    func decodeAll() {
        let codes = (0...255).map { UInt8($0) }
        var u = [Int16](repeating: 0, count: 256), a = [Int16](repeating: 0, count: 256)
        codes.withUnsafeBufferPointer { c in
            u.withUnsafeMutableBufferPointer { _ = G711.decode(.ulaw, c, into: $0) }
            a.withUnsafeMutableBufferPointer { _ = G711.decode(.alaw, c, into: $0) }
        }
        for c in codes {
            #expect(u[Int(c)] == parley_spandsp_ulaw_to_linear(c))
            #expect(a[Int(c)] == parley_spandsp_alaw_to_linear(c))
        }
    }

    @Test("block lengths that are not a multiple of 16 use the scalar tail")
    func oddLengths() {
        for n in [0, 1, 15, 17, 161] {
            let input = (0..<n).map { Int16(truncatingIfNeeded: $0 &* 977 &- 30_000) }
            var out = [UInt8](repeating: 0, count: n)
            let written = input.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { G711.encode(.ulaw, i, into: $0) } }
            #expect(written == n)
            #expect(out == input.map { parley_spandsp_linear_to_ulaw($0) })
        }
    }

    @Test("an output buffer that is too short writes nothing")
    func shortOutput() {
        let input = [Int16](repeating: 1000, count: 32)
        var out = [UInt8](repeating: 7, count: 16)
        let written = input.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { G711.encode(.alaw, i, into: $0) } }
        #expect(written == 0)
        #expect(out.allSatisfy { $0 == 7 })
    }
}

@Suite("G.711 branch-free decoding")
struct G711DecodeKernelTests {
    @Test("the arithmetic decoders equal the tables and spandsp for all 256 codes")
    func allCodes() {
        for c in 0...255 {
            let code = UInt8(c)
            #expect(G711.linearBranchless(ulaw: code) == parley_spandsp_ulaw_to_linear(code))
            #expect(G711.linearBranchless(alaw: code) == parley_spandsp_alaw_to_linear(code))
            #expect(G711.linear(ulaw: code) == G711.linearBranchless(ulaw: code))
        }
    }
}
