import ArgumentParser

/// The `crmd` command: the daemon and the tools around the log.
@main
struct CRMD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crmd",
        abstract: "An event-sourced CRM on an append-only LMDB log.",
        discussion: """
            Every interaction with a customer is an immutable event in DIR/log. The tools
            below read and check that log; none of them changes a recorded event.

            Example:
              crmd selftest --data ./crm-data
              crmd verify --data ./crm-data
              crmd replay --data ./crm-data --stream selftest-1 --format table
            """,
        subcommands: [
            ServeCommand.self, SendCommand.self, ReplayCommand.self, VerifyCommand.self, RebuildCommand.self,
            BackupCommand.self, ShipCommand.self, RestoreCommand.self, ImportCommand.self, ExportCommand.self,
            WebCommand.self,
            DemoCommand.self, ReportCommand.self, StatusCommand.self, SelftestCommand.self, SchemasCommand.self,
        ])
}

/// The `--data DIR` option every subcommand takes.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The data directory.", valueName: "DIR"))
    var data: String = "./crm-data"

    /// Where the event log's LMDB environment lives.
    var logDirectory: String { data + "/log" }
}
