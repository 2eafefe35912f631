import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Creates a new, empty directory `/tmp/muster-<purpose>-XXXXXX` and returns its path. The `postgres` OS user can
/// enter it, so a cluster made inside it can run as that user when the tests run as root. The caller removes it.
public func makeScratchDirectory(_ purpose: String) throws -> String {
    var template = Array("/tmp/muster-\(purpose)-XXXXXX".utf8CString)
    guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
        throw TestSupportError("cannot create a scratch directory /tmp/muster-\(purpose)-…: \(String(cString: strerror(errno)))")
    }
    let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    _ = chmod(path, 0o755)
    return path
}
