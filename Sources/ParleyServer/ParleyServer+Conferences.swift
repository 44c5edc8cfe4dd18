extension ParleyServer {
    /// The conference rooms' control API (list, mute, kick, lock), for the admin API.
    public var conferences: ConferenceRegistry { controller.conferences }
}
