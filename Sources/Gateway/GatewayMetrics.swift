import Prometheus

/// The gateway's Prometheus metrics: requests by route template and status, and their
/// durations. Routes are templates (`/api/v1/jobs/{id}`), so the label set stays small.
final class GatewayMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2),
        .seconds(5), .seconds(10), .seconds(30),
    ]

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "zkp", subsystem: "gateway", metricName: "requests", unitName: "total",
            helpText: "HTTP requests answered, by route and status")
    }
    static var durations: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "zkp", subsystem: "gateway", metricName: "request_duration", unitName: "seconds",
            helpText: "Time to answer an HTTP request")
    }

    func record(method: String, route: String, status: Int, duration: Duration) {
        registry.makeCounter(
            descriptor: Self.requests, labels: [("method", method), ("route", route), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(descriptor: Self.durations, labels: [("route", route)], buckets: Self.buckets)
            .record(duration)
    }

    func coordinatorReachable(_ reachable: Bool) {
        let gauge = registry.makeGauge(
            name: "zkp_gateway_coordinators_up", help: "1 when the last check reached a coordinator with a leader")
        gauge.set(Double(reachable ? 1 : 0))
    }

    var text: [UInt8] { registry.emitToBuffer() }
}
