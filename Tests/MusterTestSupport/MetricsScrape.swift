import Foundation

/// Prints every sample of a `/metrics` page as `type name{labels} value`, one per line, as a real Prometheus
/// text-format parser (Debian's python3-prometheus-client) read them.
private let scraper = """
    import sys, urllib.request
    from prometheus_client.parser import text_string_to_metric_families
    text = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            print(f"{family.type} {sample.name}{{{labels}}} {sample.value}")
    """

/// Scrapes a metrics port on loopback through the Prometheus parser; returns each sample, keyed
/// `name{label="value",…}` with the labels sorted, with its family's type. Throws when the parser refuses the page.
public func scrapeMetrics(port: Int) async throws -> [String: (type: String, value: Double)] {
    let (text, problem, status) = try await blocking {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", scraper, "http://127.0.0.1:\(port)/metrics"]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (text, problem, process.terminationStatus)
    }
    guard status == 0 else { throw TestSupportError("the Prometheus parser refused the scrape: \(problem)") }
    var samples: [String: (type: String, value: Double)] = [:]
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: " ")
        guard parts.count == 3, let value = Double(parts[2]) else { continue }
        samples[String(parts[1])] = (String(parts[0]), value)
    }
    return samples
}
