import MusterCore
import MusterProtocol

/// `EVENTS.SUBSCRIBE` and `EVENTS.UNSUBSCRIBE`: pushed `EVENT <json>` lines on this connection, between replies.
enum EventCommands {
    static var all: [Command] { [subscribe, unsubscribe] }

    struct Subscribed: Encodable {
        let subscribed: [String]
        let state: String?
    }

    static let subscribe = Command(
        name: "EVENTS.SUBSCRIBE", usage: "EVENTS.SUBSCRIBE [offers] [requests] [volunteers] [rounds] [<state>]",
        summary: "Pushes EVENT lines for the changes this token may see (all its topics when none is named; an admin may name one state).",
        access: .authenticated, arguments: CommandArguments(maxWords: 5),
        body: .immediate { request, context in
            let identity = context.identity!
            let permitted = EventTopic.permitted(for: identity.role)
            var topics = Set<EventTopic>()
            var state: String?
            for word in request.words {
                if let topic = EventTopic(rawValue: word) {
                    guard permitted.contains(topic) else {
                        throw CommandError.forbidden("a \(identity.role.rawValue) token may not subscribe to \(word)")
                    }
                    topics.insert(topic)
                } else if let jurisdiction = Jurisdiction(word), state == nil {
                    guard identity.role == .admin else {
                        throw CommandError.badRequest("\(word): only an admin token names a state (a token hears its own scope)")
                    }
                    state = jurisdiction.code
                } else {
                    throw CommandError.badRequest(
                        "\(word.prefix(40)): expected a topic (offers, requests, volunteers, rounds) or, for an admin, one state code")
                }
            }
            if topics.isEmpty { topics = permitted }
            return CommandResult(
                .ok(JSONText.encode(Subscribed(subscribed: topics.sorted().map(\.rawValue), state: state))),
                session: .subscribe(topics: topics, state: state))
        })

    static let unsubscribe = Command(
        name: "EVENTS.UNSUBSCRIBE", usage: "EVENTS.UNSUBSCRIBE", summary: "Stops pushed events on this connection.",
        access: .authenticated,
        body: .immediate { _, _ in CommandResult(.ok(nil), session: .unsubscribe) })
}
