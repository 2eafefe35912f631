import MusterCore
import MusterRegistry
import NIOConcurrencyHelpers

/// What a subscriber can ask to hear about.
public enum EventTopic: String, Sendable, CaseIterable, Comparable {
    /// Offers and bookings changing status (`type: offer`).
    case offers
    /// Staffing requests submitted or cancelled (`type: request`).
    case requests
    /// Volunteers registered or changing status or credential level (`type: volunteer` / `volunteers`).
    case volunteers
    /// Matching rounds that wrote offers (`type: round`).
    case rounds

    /// The topics a role may subscribe to: a hospital hears about its own requests and their offers only.
    public static func permitted(for role: Role) -> Set<EventTopic> {
        role == .hospital ? [.offers, .requests] : Set(allCases)
    }

    public static func < (a: EventTopic, b: EventTopic) -> Bool { a.rawValue < b.rawValue }
}

/// One change published by the database on `muster_events` (see `Migrations/0005_events.sql`), or by a daemon
/// itself (`round`, `resync`). The payload is a JSON object of ids and scope, never names or contact details.
public struct MusterEvent: Sendable, Equatable {
    /// `offer`, `request`, `volunteer`, `volunteers`, `round` or `resync`.
    public let type: String
    /// The state the change belongs to: the request's state, or the volunteer's registering state.
    public let state: String?
    /// For offers: the volunteer's registering state (their state's department follows them).
    public let volunteerState: String?
    /// For offers and requests: the requesting facility.
    public let facilityID: Int64?
    /// The JSON object as published, in the protocol's compact form (no whitespace between tokens; keys in the
    /// order they were published), as sent to subscribers.
    public let payload: String

    /// The channel the database publishes on.
    public static let channel = "muster_events"

    /// Reads a published payload; nil when it is not a JSON object with a `type`.
    public init?(payload: String) {
        guard case .object(let fields)? = try? JSONValue.parse(payload), case .string(let type)? = fields["type"] else {
            return nil
        }
        func text(_ key: String) -> String? {
            if case .string(let value)? = fields[key] { return value }
            return nil
        }
        self.type = type
        self.state = text("state")
        self.volunteerState = text("volunteerState")
        if case .integer(let id)? = fields["facilityId"] { facilityID = id } else { facilityID = nil }
        self.payload = JSONValue.compacting(payload)
    }

    /// Told to every subscriber after the daemon's listening connection was lost and re-established: events may
    /// have been missed meanwhile, so a client should re-read what it shows.
    public static let resync = MusterEvent(payload: #"{"type":"resync"}"#)!

    /// The topic this event belongs to; nil for `resync`, which every subscriber hears.
    public var topic: EventTopic? {
        switch type {
        case "offer": return .offers
        case "request": return .requests
        case "volunteer", "volunteers": return .volunteers
        case "round": return .rounds
        default: return nil
        }
    }

    /// Whether `identity` may see this event: an admin everything; a state its own state's requests, rounds and
    /// volunteers, and offers on its requests or to its volunteers; a hospital its own facility's requests and
    /// their offers.
    public func isVisible(to identity: Identity) -> Bool {
        if topic == nil { return true }
        switch identity.role {
        case .admin:
            return true
        case .state:
            guard let own = identity.jurisdiction?.code else { return false }
            return state == own || volunteerState == own
        case .hospital:
            guard let own = identity.facilityID, topic == .offers || topic == .requests else { return false }
            return facilityID == own
        }
    }
}

/// The daemon's event subscribers, and the fan-out of every event to those allowed to see it.
///
/// `DatabaseWatch` publishes what PostgreSQL notifies, so a change made through any daemon on the database reaches
/// subscribers on every daemon. Delivery is a callback that must not block: connections hop to their own event
/// loop and write there.
public final class EventHub: Sendable {
    /// One connection's subscription.
    public struct Subscription: Sendable {
        public let identity: Identity
        public let topics: Set<EventTopic>
        /// For an admin: only this state's events (nil: all).
        public let state: String?
        /// Receives each batch of visible events, in order.
        public let deliver: @Sendable ([MusterEvent]) -> Void

        public init(
            identity: Identity, topics: Set<EventTopic>, state: String? = nil,
            deliver: @escaping @Sendable ([MusterEvent]) -> Void
        ) {
            self.identity = identity
            self.topics = topics
            self.state = state
            self.deliver = deliver
        }

        func wants(_ event: MusterEvent) -> Bool {
            guard event.isVisible(to: identity) else { return false }
            guard let topic = event.topic else { return true }
            guard topics.contains(topic) else { return false }
            if let state { return event.state == state || event.volunteerState == state }
            return true
        }
    }

    private struct State {
        var subscriptions: [Int: Subscription] = [:]
        var nextID = 0
        var published = 0
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Adds a subscription; returns its id for `unsubscribe`.
    public func subscribe(_ subscription: Subscription) -> Int {
        state.withLockedValue { state in
            state.nextID += 1
            state.subscriptions[state.nextID] = subscription
            return state.nextID
        }
    }

    public func unsubscribe(_ id: Int) {
        state.withLockedValue { _ = $0.subscriptions.removeValue(forKey: id) }
    }

    /// Ends every subscription made with a token that has been revoked.
    public func revoke(tokenID: Int64) {
        state.withLockedValue { state in
            state.subscriptions = state.subscriptions.filter { $0.value.identity.tokenID != tokenID }
        }
    }

    /// Subscriptions open now.
    public var subscribers: Int { state.withLockedValue { $0.subscriptions.count } }

    /// Events published so far.
    public var published: Int { state.withLockedValue { $0.published } }

    /// Hands each subscriber the events of `batch` it may see, in order.
    public func publish(_ batch: [MusterEvent]) {
        guard !batch.isEmpty else { return }
        let subscriptions = state.withLockedValue { state in
            state.published += batch.count
            return Array(state.subscriptions.values)
        }
        for subscription in subscriptions {
            let visible = batch.filter(subscription.wants)
            if !visible.isEmpty { subscription.deliver(visible) }
        }
    }
}
