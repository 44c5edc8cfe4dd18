extension SayPhrases {
    /// Every fragment name the functions above can return, for loading them up front.
    public static let fragments: [String] = {
        var names = (0...19).map { "num-\($0)" } + stride(from: 20, through: 90, by: 10).map { "num-\($0)" }
        names += ["num-hundred", "num-thousand", "num-million"]
        names += (1...31).map { "ord-\($0)" } + weekdays + months
        names += ["time-am", "time-pm", "time-oclock", "time-oh"]
        names += (0...9).map { "digit-\($0)" } + ["star", "pound"]
        return names
    }()
}
