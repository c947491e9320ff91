import GRDB

/// A failure of the SQLite store, with SQLite's own message.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case database(String)
    case integrity(String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open the store at \(path): \(reason)"
        case .database(let m): return "store error: \(m)"
        case .integrity(let m): return "store integrity check failed: \(m)"
        }
    }

    static func wrap<T>(_ body: () throws -> T) throws(StoreError) -> T {
        do { return try body() } catch let e as StoreError { throw e } catch let e as DatabaseError {
            throw .database(e.message ?? e.description)
        } catch { throw .database("\(error)") }
    }
}
