import Foundation

/// An exclusive advisory lock (flock) on a file that names the process holding it: what makes
/// one process the log's only writer, and one process a key-value store's bulk loader.
///
/// The writer keeps what it knows of the unindexed tail in memory; a second writing process
/// would invalidate that, so it is refused at open. Readers (read-only stores) take no lock.
/// The kernel drops the lock when the process dies, so a crash never leaves it stale.
package final class WriterLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock on `path`, or throws `locked` naming the process that holds it.
    package init(path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StoreError.system("open(\(path))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(
                in: .whitespacesAndNewlines)
            close(fd)
            throw StoreError.locked(path: path, holder: holder.flatMap(Int32.init))
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(fd, $0, strlen($0)) }
        descriptor = fd
    }

    /// Releases the lock.
    package func release() {
        flock(descriptor, LOCK_UN)
    }

    deinit { close(descriptor) }
}
