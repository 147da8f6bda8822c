import ArgumentParser
import ClusterServices
import Gateway

/// The `zkp` command: every process and tool of ZKP Network behind one binary.
@main
struct ZKP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zkp",
        abstract: "ZKP Network: a fault-tolerant Groth16 proving service on BN254.",
        version: ZKPVersion.current,
        subcommands: [
            SetupCommand.self, ProveCommand.self, VerifyCommand.self, MerkleCommand.self, ExportCommand.self,
            BN254Command.self, RaftNodeCommand.self, RaftKeyValueCommand.self, RaftDemoCommand.self,
            CoordinatorCommand.self, WorkerCommand.self, GatewayCommand.self, DevCommand.self, TaskCommand.self,
            JobCommand.self, CircuitCommand.self, JobsCommand.self,
            CircuitsCommand.self, ClusterCommand.self,
        ]
    )
}
