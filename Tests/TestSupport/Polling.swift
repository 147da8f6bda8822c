/// Polls `condition` every 20 ms until it holds or `seconds` pass. The deadline bounds
/// liveness on a loaded machine; it is not a speed check.
public func waitUntil(seconds: Int, _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return false
}
