import GRPCCore
import Hummingbird

/// A refusal with the status, a stable machine-readable code and a message that says
/// precisely what was wrong. Rendered as the one error envelope
/// `{"success":false,"error":…,"code":…,"request_id":…}`.
public struct APIError: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public static func invalidJSON(_ detail: String) -> APIError {
        APIError(.badRequest, code: "invalid_json", "Invalid request body: \(detail)")
    }

    public static func invalidRequest(_ detail: String) -> APIError {
        APIError(.badRequest, code: "invalid_request", "Invalid request: \(detail)")
    }

    public static func notFound(_ message: String) -> APIError { APIError(.notFound, code: "not_found", message) }

    static let timeout = APIError(.gatewayTimeout, code: "timeout", "Request timeout")
    static let internalError = APIError(.internalServerError, code: "internal", "Internal server error")

    /// A coordinator's refusal, with its message (which names the field or the job).
    public init(_ error: RPCError) {
        switch error.code {
        case .invalidArgument: self.init(.badRequest, code: "invalid_request", error.message)
        case .notFound: self.init(.notFound, code: "not_found", error.message)
        case .alreadyExists: self.init(.conflict, code: "already_exists", error.message)
        case .failedPrecondition: self.init(.conflict, code: "conflict", error.message)
        case .resourceExhausted: self.init(.serviceUnavailable, code: "capacity", error.message)
        case .deadlineExceeded: self.init(.gatewayTimeout, code: "timeout", "the cluster did not answer in time")
        case .unavailable:
            self.init(
                .serviceUnavailable, code: "unavailable", "the cluster cannot take requests now: \(error.message)")
        default: self.init(.badGateway, code: "coordinator_error", "the cluster failed the request: \(error.message)")
        }
        if status == .serviceUnavailable { headers[.retryAfter] = "1" }
    }

    func body(requestID: String) -> String {
        OrderedJSON.object([
            ("success", .bool(false)), ("error", .string(message)), ("code", .string(code)),
            ("request_id", .string(requestID)),
        ]).text + "\n"
    }
}
