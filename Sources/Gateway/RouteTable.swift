import Hummingbird

/// One route of the gateway: what the router serves and what `/openapi.json` documents
/// come from the same entries.
struct Route: Sendable {
    let method: HTTPRequest.Method
    /// With `{name}` for a path parameter, as OpenAPI writes it.
    let path: String
    let handler: @Sendable (Request, GatewayContext) async throws -> Response
}

/// The gateway's routes, for registering them and for telling a 405 from a 404.
struct RouteTable: Sendable {
    let routes: [Route]
    private let templates: [(segments: [Substring], path: String)]

    init(_ routes: [Route]) {
        self.routes = routes
        var seen: Set<String> = []
        var templates: [(segments: [Substring], path: String)] = []
        for route in routes where seen.insert(route.path).inserted {
            templates.append((route.path.split(separator: "/"), route.path))
        }
        self.templates = templates
    }

    /// The template of the route a path belongs to (literal segments win over parameters).
    func template(matching path: String) -> String? {
        let segments = path.split(separator: "/")
        var best: (path: String, literals: Int)?
        for template in templates where template.segments.count == segments.count {
            var literals = 0
            var matches = true
            for (pattern, segment) in zip(template.segments, segments) {
                if pattern.first == "{" { continue }
                if pattern != segment {
                    matches = false
                    break
                }
                literals += 1
            }
            if matches, literals > best?.literals ?? -1 { best = (template.path, literals) }
        }
        return best?.path
    }

    /// The methods served on a path's route; empty when no route has the path.
    func methods(matching path: String) -> [HTTPRequest.Method] {
        guard let template = template(matching: path) else { return [] }
        return routes.filter { $0.path == template }.map(\.method)
    }

    /// The route's path in Hummingbird's syntax (`{id}` is the same; kept in one place).
    static func routerPath(_ path: String) -> RouterPath { RouterPath(stringLiteral: path) }
}
