import MusterCore
import Testing

@Suite struct ResultAsyncTests {
    struct Refusal: Error, Equatable {}

    @Test func anAwaitedValueOrErrorBecomesTheResult() async throws {
        let value = await Result {
            await Task.yield()
            return 42
        }
        #expect(try value.get() == 42)
        let failure = await Result { () async throws -> Int in
            await Task.yield()
            throw Refusal()
        }
        #expect(throws: Refusal.self) { try failure.get() }
    }
}
