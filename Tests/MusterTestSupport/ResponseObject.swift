import Foundation
import MusterClient

extension Response {
    /// The payload of an `OK` reply as a JSON object; nil for an error, no payload, or a payload that is not an
    /// object.
    public var object: [String: Any]? {
        guard let payload else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) as? [String: Any]
    }
}
