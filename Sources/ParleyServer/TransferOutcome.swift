/// How a blind transfer (REFER, RFC 3515) ended, as `CallController.transfer` reports it.
///
/// - `succeeded`: the transferee reached the target (a 2xx in the NOTIFY sipfrag); our side
///   of the call is then ended with BYE.
/// - `failed`: the REFER was rejected, the target refused (its status), or no final NOTIFY
///   came in time (`status` nil). The call stays up, so a menu can resume.
public enum TransferOutcome: Sendable, Equatable {
    case succeeded(status: Int)
    case failed(status: Int?, reason: String)
}
