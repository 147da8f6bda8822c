/// The release version of ZKP Network, printed by `zkp --version`.
enum ZKPVersion {
    static let current = "0.1.0"
}
