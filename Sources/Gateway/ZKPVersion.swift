/// The release version of ZKP Network, printed by `zkp --version`.
public enum ZKPVersion {
    public static let current = "0.1.0"
}
