extension Result where Failure == any Error {
    /// The value `body` returns, or the error it throws: `Result(catching:)` for an async body, for handing the
    /// outcome of awaited work to a callback.
    public init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
