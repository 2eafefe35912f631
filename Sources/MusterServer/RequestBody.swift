import MusterProtocol
import MusterRegistry

/// A command's JSON body, read into what the command needs. Malformed JSON, and every bad field at once, become
/// `BAD_REQUEST` naming what was wrong.
enum RequestBody {
    /// The body as a JSON value; `{}` when the request has none.
    static func json(_ request: Request) throws -> JSONValue {
        do {
            return try JSONValue.parse(request.body ?? "{}")
        } catch {
            throw CommandError.badRequest(error.description)
        }
    }

    /// The body read by one of MusterRegistry's input parsers (`FacilityInput.parse`, `VolunteerQuery.parse`, …).
    static func parse<Input>(_ request: Request, with parse: (JSONValue) throws(FieldErrors) -> Input) throws -> Input {
        let value = try json(request)
        do throws(FieldErrors) {
            return try parse(value)
        } catch {
            throw CommandError.badRequest(error.description)
        }
    }

    /// The body read field by field. `read` may throw a refusal of its own (a state the token may not name); the
    /// field errors it records, and unknown fields, are reported together once it returns.
    static func fields<Value>(_ request: Request, _ read: (inout ObjectReader) throws -> Value) throws -> Value {
        var errors: [FieldError] = []
        var reader = ObjectReader(try json(request), path: "", errors: &errors)
        let value = try read(&reader)
        errors += reader.finish()
        if !errors.isEmpty { throw CommandError.badRequest(FieldErrors(errors).description) }
        return value
    }
}
