import Foundation

/// Signal measurements shared by the resampler and tone generator tests, in `Double`.
enum Measure {
    /// Least-squares fit of `samples` (taken at `rate` Hz) to a DC term plus one sine per
    /// entry of `frequencies` (Hz). Returns each sine's amplitude (same units as the
    /// samples) and the RMS of what the fit leaves over (images, aliases, noise).
    static func sineFit(_ samples: [Double], frequencies: [Double], rate: Double) -> (amplitudes: [Double], residualRMS: Double) {
        let columns = 1 + 2 * frequencies.count
        func basis(_ n: Int) -> [Double] {
            var row = [1.0]
            for f in frequencies {
                let phase = 2 * Double.pi * f * Double(n) / rate
                row.append(cos(phase))
                row.append(sin(phase))
            }
            return row
        }
        // Normal equations AᵀA c = Aᵀy, solved by Gaussian elimination with pivoting.
        var ata = [[Double]](repeating: [Double](repeating: 0, count: columns), count: columns)
        var aty = [Double](repeating: 0, count: columns)
        for (n, y) in samples.enumerated() {
            let row = basis(n)
            for i in 0..<columns {
                aty[i] += row[i] * y
                for j in 0..<columns { ata[i][j] += row[i] * row[j] }
            }
        }
        let c = solve(ata, aty)
        var residual = 0.0
        for (n, y) in samples.enumerated() {
            let row = basis(n)
            var fitted = 0.0
            for i in 0..<columns { fitted += row[i] * c[i] }
            residual += (y - fitted) * (y - fitted)
        }
        let amplitudes = frequencies.indices.map { k in hypot(c[1 + 2 * k], c[2 + 2 * k]) }
        return (amplitudes, (residual / Double(max(samples.count, 1))).squareRoot())
    }

    static func solve(_ matrix: [[Double]], _ rhs: [Double]) -> [Double] {
        var a = matrix, b = rhs
        let n = b.count
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0][col]) < abs(a[$1][col]) }!
            a.swapAt(col, pivot)
            b.swapAt(col, pivot)
            for row in (col + 1)..<n where a[col][col] != 0 {
                let f = a[row][col] / a[col][col]
                for k in col..<n { a[row][k] -= f * a[col][k] }
                b[row] -= f * b[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var s = b[row]
            for k in (row + 1)..<n { s -= a[row][k] * x[k] }
            x[row] = a[row][row] != 0 ? s / a[row][row] : 0
        }
        return x
    }

    static func rms(_ samples: [Double]) -> Double {
        (samples.reduce(0) { $0 + $1 * $1 } / Double(max(samples.count, 1))).squareRoot()
    }

    static func dB(_ ratio: Double) -> Double { 20 * log10(max(ratio, 1e-12)) }

    /// The frequency (Hz) within `range` where the Hann-windowed spectrum of `samples` peaks:
    /// a scan in 0.5 Hz steps, then a parabola through the best three points.
    static func peakFrequency(_ samples: [Double], rate: Double, in range: ClosedRange<Double>) -> Double {
        let n = samples.count
        let windowed = samples.enumerated().map { k, x in x * (0.5 - 0.5 * cos(2 * Double.pi * Double(k) / Double(n - 1))) }
        func power(_ f: Double) -> Double {
            // Goertzel at an arbitrary frequency.
            let w = 2 * Double.pi * f / rate
            let coeff = 2 * cos(w)
            var s1 = 0.0, s2 = 0.0
            for x in windowed {
                let s0 = x + coeff * s1 - s2
                s2 = s1
                s1 = s0
            }
            return s1 * s1 + s2 * s2 - coeff * s1 * s2
        }
        let step = 0.5
        var best = range.lowerBound, bestPower = -1.0
        var f = range.lowerBound
        while f <= range.upperBound {
            let p = power(f)
            if p > bestPower { bestPower = p; best = f }
            f += step
        }
        let (pm, p0, pp) = (power(best - step), bestPower, power(best + step))
        let denominator = pm - 2 * p0 + pp
        return denominator < 0 ? best + step * 0.5 * (pm - pp) / denominator : best
    }

    /// A sine of `amplitude` at `frequency` Hz, sampled at `rate` Hz and rounded to 16 bits.
    static func sine(_ frequency: Double, amplitude: Double, rate: Int, count: Int) -> [Int16] {
        (0..<count).map { n in Int16((amplitude * sin(2 * Double.pi * frequency * Double(n) / Double(rate))).rounded()) }
    }
}
