import Logging
import MusterCluster
import MusterTestSupport

/// A primary and a streaming standby made from it (`pg_basebackup -R`), both started, in `root`'s `primary` and
/// `standby` directories. The caller kills both when done; if either fails to start, both are killed here.
func startPrimaryAndStandby(in root: String, logger: Logger) async throws -> (primary: EmbeddedCluster, standby: EmbeddedCluster) {
    let primary = try EmbeddedCluster(directory: root + "/primary")
    let standby = try EmbeddedCluster(directory: root + "/standby")
    do {
        try await blocking {
            try primary.start(logger: logger)
            try standby.createStandby(of: primary, logger: logger)
            try standby.start(logger: logger)
        }
    } catch {
        try? standby.kill(logger: logger)
        try? primary.kill(logger: logger)
        throw error
    }
    return (primary, standby)
}
