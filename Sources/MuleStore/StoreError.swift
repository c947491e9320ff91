import GRDB

/// A failure of the SQLite store, with SQLite's own message.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case database(String)
    case integrity(String)
    /// A row holds a value of the wrong type or an unknown state (a damaged or hand-edited store).
    case damagedRow(table: String, row: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open the store at \(path): \(reason)"
        case .database(let m): return "store error: \(m)"
        case .integrity(let m): return "store integrity check failed: \(m)"
        case .damagedRow(let table, let row, let reason):
            return "the store is damaged: \(table) \(row): \(reason) (restore mule.sqlite from a backup)"
        }
    }

    static func wrap<T>(_ body: () throws -> T) throws(StoreError) -> T {
        do { return try body() } catch let e as StoreError { throw e } catch let e as DatabaseError {
            if e.resultCode == .SQLITE_READONLY {
                throw .database("the store is read-only (a read-only mount or file): this command needs to write to it")
            }
            throw .database(e.message ?? e.description)
        } catch { throw .database("\(error)") }
    }
}
