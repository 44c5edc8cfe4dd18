import Foundation

/// Media load: the legs-per-core figure and the I/O design comparison (see scripts/load-media).
///
///   MediaLoad legs N SECONDS [--realtime] [--no-inband] [--media-cpu 0] [--generator-cpu 1]
///   MediaLoad rooms R SECONDS [--participants 15] [--opus] [--realtime] [--media-cpu 0] [--generator-cpu 1]
///   MediaLoad compare N SECONDS [--realtime] [--arms raw,own,uring,nio] [--media-cpu 0] [--generator-cpu 1]
let usage = """
usage: MediaLoad legs N SECONDS [--realtime] [--no-inband] [--media-cpu C] [--generator-cpu C]
       MediaLoad compare N SECONDS [--realtime] [--arms raw,own,uring,nio] [--media-cpu C] [--generator-cpu C]
       MediaLoad rooms R SECONDS [--participants P] [--opus] [--realtime] [--media-cpu C] [--generator-cpu C]
"""

/// SCHED_FIFO priority for the measured threads (`--realtime`), else nil.
nonisolated(unsafe) var realtime: Int32?

func main() throws {
    setvbuf(stdout, nil, _IOLBF, 0)
    var args = Array(CommandLine.arguments.dropFirst())
    func option(_ name: String) -> String? {
        guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
        let v = args[i + 1]
        args.removeSubrange(i...(i + 1))
        return v
    }
    func flag(_ name: String) -> Bool {
        guard let i = args.firstIndex(of: name) else { return false }
        args.remove(at: i)
        return true
    }
    let mediaCPU = Int(option("--media-cpu") ?? "0") ?? 0
    let generatorCPU = Int(option("--generator-cpu") ?? "1") ?? 1
    let arms = (option("--arms") ?? "raw,own,uring,nio").split(separator: ",").map(String.init)
    let noInband = flag("--no-inband")
    let participants = Int(option("--participants") ?? "15") ?? 15
    let opus = flag("--opus")
    // SCHED_FIFO for the system under test and the generator: on a shared machine, other
    // processes' work then cannot delay the ticks (needs CAP_SYS_NICE).
    realtime = flag("--realtime") ? 10 : nil
    guard args.count == 3, let legs = Int(args[1]), legs > 0, let seconds = Double(args[2]), seconds > 0 else {
        throw UsageError(usage)
    }
    print(Row.header)
    switch args[0] {
    case "legs":
        print(try LegLoad.run(legs: legs, seconds: seconds, inband: !noInband, mediaCPU: mediaCPU, generatorCPU: generatorCPU).line)
    case "rooms":
        print(try ConferenceLoad.run(rooms: legs, participants: participants, seconds: seconds, opus: opus,
                                     mediaCPU: mediaCPU, generatorCPU: generatorCPU).line)
    case "compare":
        _ = try IOCompare.run(legs: legs, seconds: seconds, arms: arms, mediaCPU: mediaCPU, generatorCPU: generatorCPU)
    default:
        throw UsageError(usage)
    }
}

do { try main() } catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(2)
}
