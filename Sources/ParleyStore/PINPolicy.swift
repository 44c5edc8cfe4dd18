/// What a mailbox PIN must be: 4–10 digits, not one digit repeated (1111), not an ascending
/// or descending run (1234, 6543, 7890, 2109), not the mailbox number itself.
public enum PINPolicy {
    public static let lengthRange = 4...10

    /// Throws `.pinPolicy` naming the rule broken; never echoes the PIN.
    public static func check(_ pin: String, mailboxNumber: String? = nil) throws(StoreError) {
        let digits = pin.utf8.map { Int($0) - 0x30 }
        guard digits.allSatisfy({ (0...9).contains($0) }) else { throw .pinPolicy("digits only") }
        guard lengthRange.contains(digits.count) else {
            throw .pinPolicy("length must be \(lengthRange.lowerBound) to \(lengthRange.upperBound) digits")
        }
        let steps = zip(digits.dropFirst(), digits).map { ($0 - $1 + 10) % 10 }
        if steps.allSatisfy({ $0 == 0 }) { throw .pinPolicy("all the same digit") }
        if steps.allSatisfy({ $0 == 1 }) { throw .pinPolicy("an ascending run of digits") }
        if steps.allSatisfy({ $0 == 9 }) { throw .pinPolicy("a descending run of digits") }
        if let mailboxNumber, pin == mailboxNumber { throw .pinPolicy("the same as the mailbox number") }
    }

    /// Checks only what hashing needs (digits, length); for PINs an operator sets on purpose.
    public static func checkFormat(_ pin: String) throws(StoreError) {
        guard !pin.isEmpty, pin.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { throw .pinPolicy("digits only") }
        guard lengthRange.contains(pin.utf8.count) else {
            throw .pinPolicy("length must be \(lengthRange.lowerBound) to \(lengthRange.upperBound) digits")
        }
    }
}
