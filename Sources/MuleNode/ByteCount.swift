import Foundation

/// Parsing and printing of byte counts ("512MiB", "1.5 GB") and durations ("14d", "36h").
public enum ByteCount {
    public static func format(_ n: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var i = 0
        while v >= 1024, i < units.count - 1 {
            v /= 1024
            i += 1
        }
        if i == 0 { return "\(n) B" }
        let rounded = (v * 10).rounded() / 10
        return "\(rounded) \(units[i])"
    }

    public static func parse(_ text: String) -> Int64? {
        let t = text.replacingOccurrences(of: " ", with: "").lowercased()
        let digits = t.prefix { $0.isNumber || $0 == "." }
        guard let value = Double(digits), value >= 0 else { return nil }
        let factors: [String: Double] = [
            "": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": Double(1 << 20), "mb": 1e6, "mib": Double(1 << 20),
            "g": Double(1 << 30), "gb": 1e9, "gib": Double(1 << 30), "t": Double(1 << 40), "tb": 1e12,
            "tib": Double(1 << 40),
        ]
        guard let f = factors[String(t.dropFirst(digits.count))] else { return nil }
        let bytes = value * f
        guard bytes < 9e18 else { return nil }
        return Int64(bytes)
    }
}

public enum TimeSpan {
    /// Parses "90s", "45m", "36h", "14d", "2w" or plain seconds into milliseconds.
    public static func parseMs(_ text: String) -> UInt64? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let digits = t.prefix { $0.isNumber }
        guard let n = UInt64(digits), n > 0 else { return nil }
        let unit: UInt64
        switch t.dropFirst(digits.count) {
        case "", "s": unit = 1000
        case "m", "min": unit = 60_000
        case "h": unit = 3_600_000
        case "d": unit = 86_400_000
        case "w": unit = 7 * 86_400_000
        default: return nil
        }
        let (ms, overflow) = n.multipliedReportingOverflow(by: unit)
        return overflow ? nil : ms
    }
}
