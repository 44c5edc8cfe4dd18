import ParleyTestSupport
import Foundation
@testable import ParleyDSP

/// Material for the talk-off test: speech generated with espeak-ng at test time, and
/// music-like audio synthesised here. None of it contains a DTMF key, so every key the
/// detector reports on it is a false one.
enum TalkOffCorpus {
    // MARK: Speech

    /// Long, varied texts: narrative, numbers and IVR-style prompts (the speech a DTMF
    /// detector hears most in an IVR), questions, lists; English, German, French, Spanish.
    static let texts: [String] = [
        // 0: narrative English
        """
        The old lighthouse keeper climbed the spiral staircase every evening at dusk, counting the steps \
        as he went, one hundred and twelve of them, worn smooth by a century of boots. At the top he \
        trimmed the wick, polished the great lens until it shone like still water, and watched the \
        fishing boats come home across the bay. Some nights the fog rolled in so thick that he could not \
        see his own hand, and then he wound the clockwork of the foghorn and listened to it moan across \
        the water, long and low, once every thirty seconds, until the grey light of morning came back. \
        His daughter wrote to him from the city twice a month. She told him about trams and theatres, \
        about a job in an office with windows that did not open, about a young man who played the \
        trumpet badly but with enormous enthusiasm. He kept her letters in a biscuit tin beside the \
        radio, and on quiet afternoons he read them again, slowly, smiling at the parts he already knew \
        by heart. When the lighthouse was finally automated, he moved into a small cottage by the \
        harbour, bought a bicycle, and learned, at the age of seventy-one, to make surprisingly good bread.
        """,
        // 1: IVR prompts, numbers, times and money
        """
        Thank you for calling the customer service centre. Your call may be recorded for training and \
        quality purposes. For billing questions, press one. To report a fault, press two. To hear these \
        options again, press the star key, or press the hash key to return to the main menu. Please \
        enter your account number followed by the pound sign. Your account number is four seven one \
        one, zero eight one five, nine nine two three. Your current balance is one hundred and \
        forty-three pounds and sixty-seven pence, due on the twenty-eighth of March. Our opening hours \
        are Monday to Friday from eight a.m. to eight p.m., and Saturday from nine until five. Please \
        hold the line; you are number six in the queue, and the expected waiting time is approximately \
        eleven minutes. If you would like us to call you back, say yes or press five now. Flight \
        seven three two to Amsterdam is now boarding at gate fourteen. The temperature in Edinburgh is \
        minus two degrees, with light snow expected after midnight and winds of up to forty miles per hour. \
        Your reference number is Charlie, Delta, zero, zero, three, Alpha. Goodbye.
        """,
        // 2: technical, with lists and questions
        """
        How does a telephone exchange know which number you dialled? In the early days an operator \
        simply asked. Later, rotary dials sent short interruptions of the line current, one pulse for \
        each unit of the digit, ten for zero. Then came tones: two frequencies at once, one from a low \
        group and one from a high group, chosen so that no pair is a simple harmonic of another and \
        so that ordinary speech rarely produces both at the same moment. Is that guarantee absolute? \
        Not quite. Engineers measured it with hours of recorded conversation, music, and noise, and \
        counted the false digits, a figure they called talk-off. A good receiver produces fewer than a \
        handful in many hours. It checks the level of each tone, the difference between them, the energy \
        outside the two frequencies, and the duration of the signal, and it waits for the tone to \
        settle before it decides. Meanwhile the rest of the network has changed completely: copper \
        became fibre, circuits became packets, and the humble keypad tone now often travels as a small \
        message inside the media stream instead of as sound. Yet the old method survives, because \
        somewhere there is always a gateway that turns it back into audio.
        """,
        // 3: conversational, emotional, exclamations
        """
        Oh, you will never believe what happened this morning! I was standing at the bus stop, right, \
        completely soaked because of course I forgot my umbrella again, and this enormous dog comes \
        running down the street dragging its lead behind it. Absolutely enormous, like a small horse. \
        And behind it there's this tiny old lady shouting Biscuit! Biscuit, come back here at once! So \
        naturally I grabbed the lead, and the dog just sat down on my feet and looked at me as if we'd \
        been friends for years. Anyway, the lady finally catches up, completely out of breath, and she \
        says, thank you, dear, he only does this on Tuesdays. On Tuesdays! What does that even mean? I \
        missed my bus, obviously. Then I missed the next one because I was laughing too much to notice it. \
        Really, honestly, I'm not exaggerating. Do you want to get lunch later? There's a new place \
        round the corner that does soup in bread bowls, which sounds ridiculous, but apparently it's \
        brilliant. Let's say half past twelve? Text me if you're running late, and bring an umbrella.
        """,
        // 4: news and weather, long sentences
        """
        In the news this evening: the regional council has approved plans for a new railway line \
        connecting the northern valleys with the coast, a project first proposed almost forty years ago. \
        Construction is expected to begin next spring and to take six years, at an estimated cost of \
        two point four billion. Supporters say the line will cut journey times in half and take thousands \
        of lorries off the mountain roads; critics worry about the impact on wetlands and on the small \
        farms that lie along the planned route. In sport, the national women's team won their third \
        consecutive match, beating the champions by two goals to one after a dramatic late header. And \
        finally, a museum in the capital has reopened its astronomy gallery after a long renovation, with \
        a restored brass telescope from the eighteenth century and a planetarium that visitors describe \
        as breathtaking. Tomorrow will be mostly cloudy in the west, with sunny intervals in the east and \
        highs between eleven and fifteen degrees. Rain will spread from the south during the evening.
        """,
        // 5: German
        """
        Guten Tag und herzlich willkommen beim Kundenservice. Für Fragen zu Ihrer Rechnung drücken Sie \
        bitte die Eins, für technische Störungen die Zwei. Gestern Abend saßen wir noch lange im Garten, \
        obwohl es schon kühl wurde, und sprachen über die Reise nach Norwegen im kommenden Sommer. Meine \
        Schwester möchte unbedingt die Fjorde mit dem Schiff erkunden, mein Bruder dagegen lieber wandern, \
        möglichst weit weg von allen Straßen. Am Ende haben wir beschlossen, beides zu machen: zuerst eine \
        Woche auf dem Wasser, dann zehn Tage in den Bergen, mit Zelt, Kocher und viel zu schweren Rucksäcken. \
        Die Züge fahren heute wegen Bauarbeiten nur im Stundentakt; bitte beachten Sie die geänderten \
        Abfahrtszeiten an Gleis sieben. Die Temperatur beträgt achtzehn Grad, am Nachmittag sind einzelne \
        Gewitter möglich. Vielen Dank für Ihren Anruf und auf Wiederhören.
        """,
        // 6: French
        """
        Bonjour et bienvenue. Pour connaître le solde de votre compte, appuyez sur la touche un. Pour \
        parler à un conseiller, appuyez sur la touche étoile. Ce matin, le marché était plein de monde: \
        des fraises, des cerises, des tomates de toutes les couleurs, et ce vieux monsieur qui vend du \
        fromage depuis plus de quarante ans et qui connaît le prénom de chaque client. J'ai acheté une \
        baguette encore chaude, un bouquet de radis et un petit pot de miel de lavande. Ensuite, nous \
        avons pris un café sur la place, à l'ombre des platanes, en regardant les enfants jouer autour de \
        la fontaine. Le train pour Lyon partira avec un retard d'environ vingt minutes, voie numéro trois. \
        Nous vous prions de nous excuser pour la gêne occasionnée. Il fera beau demain sur tout le pays, \
        avec des températures comprises entre vingt et vingt-six degrés. Merci de votre patience.
        """,
        // 7: Spanish
        """
        Buenas tardes. Su llamada es muy importante para nosotros; por favor, permanezca en línea. Para \
        consultar el estado de su pedido, pulse uno; para cambiar su contraseña, pulse dos. El domingo \
        pasado fuimos a la sierra con unos amigos y subimos hasta el refugio, a casi dos mil metros de \
        altura. Hacía un viento frío, pero el cielo estaba completamente despejado y desde arriba se veían \
        los pueblos blancos del valle, el río brillando entre los árboles y, muy a lo lejos, el mar. Al \
        bajar paramos en un bar pequeño donde nos sirvieron tortilla, pan con tomate y un vino de la casa \
        que no olvidaremos nunca. El próximo tren con destino a Sevilla saldrá a las diecisiete cuarenta y \
        cinco desde la vía dos. Gracias por su paciencia y que tenga un buen día.
        """,
    ]

    /// One way of speaking a text: espeak-ng voice (with variant), rate in words per
    /// minute, pitch (0–99, espeak-ng's default 50), and a gain applied afterwards, dB.
    struct Rendition {
        var voice: String
        var wordsPerMinute: Int
        var pitch: Int
        var text: Int
        var gainDB: Double
        var label: String { "\(voice) \(wordsPerMinute) wpm p\(pitch)" + (gainDB != 0 ? " \(gainDB.fixed(0)) dB" : "") }
    }

    static let renditions: [Rendition] = [
        Rendition(voice: "en-us", wordsPerMinute: 160, pitch: 50, text: 0, gainDB: 0),
        Rendition(voice: "en-us+f3", wordsPerMinute: 200, pitch: 70, text: 0, gainDB: -6),
        Rendition(voice: "en-gb", wordsPerMinute: 140, pitch: 40, text: 1, gainDB: 0),
        Rendition(voice: "en-gb-scotland", wordsPerMinute: 180, pitch: 55, text: 1, gainDB: -12),
        Rendition(voice: "en-029", wordsPerMinute: 220, pitch: 60, text: 2, gainDB: -6),
        Rendition(voice: "en-us+m3", wordsPerMinute: 120, pitch: 30, text: 2, gainDB: 0),
        Rendition(voice: "en-gb-x-rp+f2", wordsPerMinute: 170, pitch: 80, text: 3, gainDB: 0),
        Rendition(voice: "en-us-nyc", wordsPerMinute: 190, pitch: 45, text: 3, gainDB: -12),
        Rendition(voice: "en-us+klatt", wordsPerMinute: 150, pitch: 50, text: 4, gainDB: 0),
        Rendition(voice: "en-gb+f5", wordsPerMinute: 210, pitch: 90, text: 4, gainDB: -6),
        Rendition(voice: "en-us+f1", wordsPerMinute: 165, pitch: 99, text: 1, gainDB: 0),
        Rendition(voice: "en-gb+m1", wordsPerMinute: 135, pitch: 5, text: 0, gainDB: 0),
        Rendition(voice: "de", wordsPerMinute: 150, pitch: 50, text: 5, gainDB: 0),
        Rendition(voice: "de+f4", wordsPerMinute: 190, pitch: 75, text: 5, gainDB: -6),
        Rendition(voice: "fr-fr", wordsPerMinute: 160, pitch: 50, text: 6, gainDB: 0),
        Rendition(voice: "fr-fr+m7", wordsPerMinute: 130, pitch: 35, text: 6, gainDB: -6),
        Rendition(voice: "es", wordsPerMinute: 180, pitch: 55, text: 7, gainDB: 0),
        Rendition(voice: "es+f2", wordsPerMinute: 200, pitch: 85, text: 7, gainDB: -12),
    ]

    enum ToolError: Error, CustomStringConvertible {
        case missing(String)
        case failed(String, Int32, String)
        var description: String {
            switch self {
            case let .missing(tool):
                return "\(tool) is required by the talk-off test and was not found on PATH (Debian: apt-get install espeak-ng sox)"
            case let .failed(command, status, stderr):
                return "\(command) exited with status \(status): \(stderr)"
            }
        }
    }

    /// The absolute path of `tool` on PATH (or in /usr/bin), or nil.
    static func find(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for dir in path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"] {
            let candidate = dir + "/" + tool
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ToolError.failed(([tool] + arguments).joined(separator: " "), process.terminationStatus,
                                   String(decoding: message, as: UTF8.self))
        }
    }

    /// Speaks every rendition with espeak-ng (22.05 kHz WAV) and converts it with sox to
    /// 8 kHz 16-bit mono (sox's rate effect low-passes before decimating), in `directory`.
    /// - Returns: the 8 kHz audio of each rendition, gain applied.
    static func speech(in directory: URL) throws -> [(rendition: Rendition, samples: [Int16])] {
        guard let espeak = find("espeak-ng") else { throw ToolError.missing("espeak-ng") }
        guard let sox = find("sox") else { throw ToolError.missing("sox") }
        var out: [(Rendition, [Int16])] = []
        for (i, r) in renditions.enumerated() {
            let textFile = directory.appendingPathComponent("text\(r.text).txt")
            if !FileManager.default.fileExists(atPath: textFile.path) {
                try texts[r.text].write(to: textFile, atomically: true, encoding: .utf8)
            }
            let wav = directory.appendingPathComponent("speech\(i).wav")
            let raw = directory.appendingPathComponent("speech\(i).s16")
            if !FileManager.default.fileExists(atPath: raw.path) {
                try run(espeak, ["-b", "1", "-v", r.voice, "-s", "\(r.wordsPerMinute)", "-p", "\(r.pitch)",
                                 "-w", wav.path, "-f", textFile.path])
                try run(sox, [wav.path, "-t", "raw", "-r", "8000", "-e", "signed-integer", "-b", "16", "-c", "1",
                              "-L", raw.path])
            }
            let data = try Data(contentsOf: raw)
            let gain = pow(10, r.gainDB / 20)
            let samples: [Int16] = data.withUnsafeBytes { bytes in
                (0..<(bytes.count / 2)).map { k in
                    let x = Double(Int16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * k, as: Int16.self)))
                    return Int16(max(-32768, min(32767, (x * gain).rounded())))
                }
            }
            out.append((r, samples))
        }
        return out
    }

    // MARK: Music

    /// Equal-tempered pitch of MIDI note `n` (69 = A4 = 440 Hz).
    static func midi(_ n: Double) -> Double { 440 * pow(2, (n - 69) / 12) }

    /// Synthesised music-like material, 8 kHz, each piece normalised to a plausible level.
    /// Several pieces put energy right at DTMF frequencies, but never as a valid
    /// row + column pair on its own.
    static func music() -> [(label: String, samples: [Int16])] {
        var rng = SeededRandom(seed: 2024)
        return [
            ("piano chords + arpeggios", normalise(pianoPiece(&rng), rmsDBm0: -16)),
            ("organ chords, vibrato", normalise(organPiece(&rng), rmsDBm0: -14)),
            ("flute melody over strings", normalise(flutePiece(&rng), rmsDBm0: -15)),
            ("sweeps (sine and harmonic)", normalise(sweepPiece(), rmsDBm0: -15)),
            ("near-DTMF non-pairs, vibrato", normalise(nearDTMFPiece(&rng), rmsDBm0: -13)),
            ("bass, drums and brass stabs", normalise(bandPiece(&rng), rmsDBm0: -14)),
        ]
    }

    static func normalise(_ x: [Double], rmsDBm0: Double) -> [Int16] {
        let rms = sqrt(x.reduce(0) { $0 + $1 * $1 } / Double(max(1, x.count)))
        let target = DTMFSignal.amplitude(dBm0: rmsDBm0) / sqrt(2)
        let g = rms > 0 ? target / rms : 0
        return x.map { Int16(max(-32768, min(32767, ($0 * g).rounded()))) }
    }

    /// Adds one note: harmonic partials `k·f` with amplitude `partials[k-1]`, an attack of
    /// `attack` s and an exponential decay (time constant `decay` s), optional vibrato.
    static func addNote(_ out: inout [Double], at start: Double, duration: Double, frequency: Double,
                        partials: [Double], attack: Double = 0.01, decay: Double = 10,
                        vibratoHz: Double = 0, vibratoDepth: Double = 0, amplitude: Double = 1) {
        let fs = DTMFSignal.sampleRate
        let first = Int(start * fs), count = Int(duration * fs)
        guard first < out.count else { return }
        var phase = 0.0
        for n in 0..<min(count, out.count - first) {
            let t = Double(n) / fs
            let f = frequency * (1 + vibratoDepth * sin(2 * Double.pi * vibratoHz * t))
            phase += 2 * Double.pi * f / fs
            let release = min(1, Double(count - n) / (0.02 * fs))
            let env = min(1, t / attack) * exp(-t / decay) * release
            var v = 0.0
            for (k, a) in partials.enumerated() where Double(k + 1) * f < 3900 {
                v += a * sin(Double(k + 1) * phase)
            }
            out[first + n] += amplitude * env * v
        }
    }

    static let piano: [Double] = (1...12).map { 1 / pow(Double($0), 1.4) }
    static let organ: [Double] = [1, 0.7, 0.5, 0.45, 0, 0.3, 0, 0.25]
    static let flute: [Double] = [1, 0.12, 0.05, 0.02]
    static let strings: [Double] = (1...10).map { 0.9 / Double($0) }
    static let brass: [Double] = (1...10).map { k in Double(k) <= 3 ? 1 : 2 / Double(k) }

    /// I–vi–IV–V and ii–V–I progressions in several keys, arpeggiated above.
    static func pianoPiece(_ rng: inout SeededRandom) -> [Double] {
        let seconds = 60.0
        var out = [Double](repeating: 0, count: Int(seconds * DTMFSignal.sampleRate))
        let shapes: [[Double]] = [[0, 4, 7, 12], [9, 12, 16, 21], [5, 9, 12, 17], [7, 11, 14, 17], [2, 5, 9, 14]]
        var t = 0.0
        while t < seconds - 1 {
            let root = 48 + Double(Int.random(in: 0..<12, using: &rng))
            for shape in shapes.shuffled(using: &rng) {
                for interval in shape {
                    addNote(&out, at: t, duration: 1.2, frequency: midi(root + interval), partials: piano, decay: 0.8, amplitude: 0.5)
                }
                for step in 0..<8 {
                    let interval = shape[step % shape.count] + 12 * Double(step / 4 + 1)
                    addNote(&out, at: t + Double(step) * 0.125, duration: 0.2, frequency: midi(root + interval),
                            partials: piano, decay: 0.3, amplitude: 0.35)
                }
                t += 1
                if t >= seconds - 1 { break }
            }
        }
        return out
    }

    /// Sustained four- and five-note organ chords with a slow vibrato.
    static func organPiece(_ rng: inout SeededRandom) -> [Double] {
        let seconds = 45.0
        var out = [Double](repeating: 0, count: Int(seconds * DTMFSignal.sampleRate))
        var t = 0.0
        while t < seconds - 0.5 {
            let root = 55 + Double(Int.random(in: 0..<14, using: &rng))
            let chord: [Double] = [[0, 4, 7, 11], [0, 3, 7, 10, 14], [0, 5, 7, 12], [0, 4, 9, 14]].randomElement(using: &rng)!
            let length = Double.random(in: 1.0...2.5, using: &rng)
            for interval in chord {
                addNote(&out, at: t, duration: length, frequency: midi(root + interval), partials: organ, attack: 0.05,
                        vibratoHz: 5.5, vibratoDepth: 0.004, amplitude: 0.3)
            }
            t += length
        }
        return out
    }

    /// A near-sinusoidal melody (the most tone-like instrument) in the DTMF range, with
    /// vibrato, over soft string chords.
    static func flutePiece(_ rng: inout SeededRandom) -> [Double] {
        let seconds = 45.0
        var out = [Double](repeating: 0, count: Int(seconds * DTMFSignal.sampleRate))
        var t = 0.0
        var note = 79.0
        while t < seconds - 0.7 {
            note = max(74, min(92, note + Double([-5, -3, -2, -1, 1, 2, 3, 4, 5].randomElement(using: &rng)!)))
            let length = [0.15, 0.25, 0.25, 0.4, 0.6].randomElement(using: &rng)!
            addNote(&out, at: t, duration: length, frequency: midi(note), partials: flute, attack: 0.03,
                    vibratoHz: 5, vibratoDepth: 0.006, amplitude: 0.6)
            t += length
        }
        t = 0
        while t < seconds - 2 {
            let root = 50 + Double(Int.random(in: 0..<10, using: &rng))
            for interval in [0.0, 7, 12, 16] {
                addNote(&out, at: t, duration: 2, frequency: midi(root + interval), partials: strings, attack: 0.3, amplitude: 0.12)
            }
            t += 2
        }
        return out
    }

    /// Linear and logarithmic sweeps of a sine and of harmonic tones, slow and fast.
    static func sweepPiece() -> [Double] {
        let fs = DTMFSignal.sampleRate
        var out: [Double] = []
        let sweeps: [(from: Double, to: Double, seconds: Double, log: Bool, partials: [Double])] = [
            (200, 3000, 5, false, [1]), (3000, 200, 3, true, [1]), (500, 1800, 2, true, [1]), (1800, 500, 0.8, false, [1]),
            (300, 1000, 4, true, [1, 0.5]), (1000, 300, 4, false, [1, 0.5, 0.3]), (600, 900, 3, true, [1, 0.6]),
            (350, 700, 2.5, false, [1, 0.4, 0.4]), (650, 1000, 6, true, [1, 0.5]), (200, 2000, 1, true, piano),
        ]
        for s in sweeps {
            let count = Int(s.seconds * fs)
            var phase = 0.0
            for n in 0..<count {
                let x = Double(n) / Double(count)
                let f = s.log ? s.from * pow(s.to / s.from, x) : s.from + (s.to - s.from) * x
                phase += 2 * Double.pi * f / fs
                var v = 0.0
                for (k, a) in s.partials.enumerated() where Double(k + 1) * f < 3900 { v += a * sin(Double(k + 1) * phase) }
                out.append(v * min(1, Double(n) / 200, Double(count - n) / 200))
            }
            out += [Double](repeating: 0, count: 800)
        }
        return out
    }

    /// Energy at DTMF frequencies that is not a valid key: single DTMF tones (plain and
    /// with vibrato), two row tones, two column tones, row + column with one tone 5–8 %
    /// off (where that lands ≥ 4 % from every DTMF frequency), and three-note chords built
    /// on a DTMF frequency.
    static func nearDTMFPiece(_ rng: inout SeededRandom) -> [Double] {
        let rows = DTMFKey.rowFrequencies, cols = DTMFKey.columnFrequencies
        var pieces: [[Double]] = []
        func pair(_ a: Double, _ b: Double, _ seconds: Double, third: Double? = nil) -> [Double] {
            var x = [Double](repeating: 0, count: Int(seconds * DTMFSignal.sampleRate))
            addNote(&x, at: 0, duration: seconds, frequency: a, partials: [1], attack: 0.005)
            addNote(&x, at: 0, duration: seconds, frequency: b, partials: [1], attack: 0.005)
            if let third { addNote(&x, at: 0, duration: seconds, frequency: third, partials: [1], attack: 0.005) }
            return x
        }
        for f in rows + cols {
            var x = [Double](repeating: 0, count: 4000)
            addNote(&x, at: 0, duration: 0.5, frequency: f, partials: [1])
            pieces.append(x)
            var v = [Double](repeating: 0, count: 8000)
            addNote(&v, at: 0, duration: 1, frequency: f, partials: [1, 0.3], vibratoHz: 6, vibratoDepth: 0.02)
            pieces.append(v)
        }
        for i in 0..<4 { for j in (i + 1)..<4 {
            pieces.append(pair(rows[i], rows[j], 0.4))
            pieces.append(pair(cols[i], cols[j], 0.4))
        } }
        // A tone moved this far is at least 4 % from every DTMF frequency, so it cannot
        // complete a valid pair with anything (8 % above 697 Hz would be 770 Hz - 2.2 %).
        let dtmf = rows + cols
        func clear(_ f: Double) -> Bool { dtmf.allSatisfy { abs(f / $0 - 1) >= 0.04 } }
        for r in rows { for c in cols {
            let moveRow = Bool.random(using: &rng)
            let base = moveRow ? r : c
            let offsets = [0.05, -0.05, 0.06, -0.06, 0.07, -0.07, 0.08, -0.08].shuffled(using: &rng)
            guard let off = offsets.first(where: { clear(base * (1 + $0)) }) else { continue }
            pieces.append(moveRow ? pair(r * (1 + off), c, 0.3) : pair(r, c * (1 + off), 0.3))
        } }
        // Three-note chords built on each DTMF frequency; the other two notes (thirds,
        // fourths, fifths, sixths above or below) are chosen clear of every DTMF frequency.
        let ratios = [1.19, 1.26, 1.335, 1.5, 1.68, 1 / 1.19, 1 / 1.26, 1 / 1.335, 1 / 1.5]
        for f in dtmf {
            let others = ratios.map { f * $0 }.filter(clear)
            guard others.count >= 2 else { continue }
            pieces.append(pair(f, others[0], 0.6, third: others[1]))
            pieces.append(pair(f, others[others.count - 1], 0.6, third: others[others.count - 2]))
        }
        var out: [Double] = []
        for p in pieces.shuffled(using: &rng) { out += p + [Double](repeating: 0, count: 400) }
        return out
    }

    /// A band: walking bass, kick and snare (filtered noise bursts), brass stabs.
    static func bandPiece(_ rng: inout SeededRandom) -> [Double] {
        let seconds = 30.0
        let fs = DTMFSignal.sampleRate
        var out = [Double](repeating: 0, count: Int(seconds * fs))
        let beat = 0.5
        var t = 0.0
        var bass = 40.0
        while t < seconds - 1 {
            bass = max(33, min(52, bass + Double([-2, -1, 1, 2, 3, -3].randomElement(using: &rng)!)))
            addNote(&out, at: t, duration: beat * 0.9, frequency: midi(bass), partials: strings, decay: 0.6, amplitude: 0.6)
            // Kick: a falling sine; snare: noise through a one-pole filter.
            let k = Int(t * fs)
            for n in 0..<min(800, out.count - k) {
                let tt = Double(n) / fs
                out[k + n] += 0.8 * exp(-tt / 0.05) * sin(2 * Double.pi * (60 + 100 * exp(-tt / 0.02)) * tt)
            }
            if Int(t / beat) % 2 == 1 {
                var y = 0.0
                for n in 0..<min(1200, out.count - k) {
                    y = 0.6 * y + 0.4 * (rng.unit() * 2 - 1)
                    out[k + n] += 0.5 * exp(-Double(n) / fs / 0.08) * y
                }
            }
            if Int(t / beat) % 4 == 3 {
                let root = 60 + Double(Int.random(in: 0..<7, using: &rng))
                for interval in [0.0, 4, 7] {
                    addNote(&out, at: t, duration: 0.25, frequency: midi(root + interval), partials: brass, attack: 0.02, amplitude: 0.3)
                }
            }
            t += beat
        }
        return out
    }
}
