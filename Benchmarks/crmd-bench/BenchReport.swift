import Demo
import EventStore
import Foundation

/// One concurrency level: the store beside its baselines at the same batch size.
struct AppendRow {
    var appenders: Int
    var store: StoreMeasurement
    var raw: BaselineMeasurement
    var sqlite: BaselineMeasurement
    /// SQLite as an event store's table: stream and version under a unique index.
    var sqliteStreams: BaselineMeasurement
}

/// Renders BENCHMARKS.md.
struct BenchReport {
    var arguments: BenchArguments
    var payload: BenchPayload
    var appends: [AppendRow]
    var commands: CommandMeasurement
    var commandClients: Int
    var socket: [SocketMeasurement]
    var read: ReadMeasurement
    var verifyRate: Double
    var projections: ProjectionMeasurement
    var scaling: [ScalingRow]
    var imports: ImportMeasurement
    var pages: [PageMeasurement]
    var shipping: ShipMeasurement

    /// The report as BENCHMARKS.md holds it.
    func markdown() -> String {
        appendsSection() + commandsSection() + socketSection() + readSection() + projectionsSection() + verifySection()
            + scalingSection() + importSection() + pagesSection() + shippingSection()
    }

    /// The log shipped to PostgreSQL beside PostgreSQL's own COPY, and the lag under load.
    private func shippingSection() -> String {
        let s = shipping
        let ratio = s.shipRate / s.copyRate
        return """

            ## Shipping to PostgreSQL (issue: beyond one machine)

            A `crmd demo` log of \(s.events) events shipped by `crmd ship --once` into an empty PostgreSQL 15
            (a private cluster on loopback; batches of 5,000 events, one transaction each: COPY of the rows
            and the checkpoint). Ceiling: PostgreSQL's own `COPY` of the very same rows from a file into a
            table of the same shape, in the same run.

            | events | ship seconds | shipped events/s | COPY from file seconds | COPY events/s | ship / COPY |
            |---:|---:|---:|---:|---:|---:|
            | \(s.events) | \(String(format: "%.1f", s.shipSeconds)) | \(Int(s.shipRate)) | \(String(format: "%.1f", s.copySeconds)) | \(Int(s.copyRate)) | \(String(format: "%.0f", 100 * ratio))% |

            The shipper inside a daemon (`crmd serve --ship-to`) while 4 paced clients send \(Int(s.commandsPerSecond))
            `note.add` commands a second; its lag (`system.status` `ship.lagSeconds`, sampled every 100 ms):
            p50 \(String(format: "%.3f", s.lagP50)) s, p99 \(String(format: "%.3f", s.lagP99)) s, max \(String(format: "%.3f", s.lagMax)) s.

            Goals: at least half of the bare COPY rate (this run: \(ratio >= 0.5 ? "met" : "not met")); a lag under
            one second (this run: \(s.lagMax < 1 ? "met" : "not met")).

            """
    }

    /// The front desk's pages beside the same work straight on the daemon's socket.
    private func pagesSection() -> String {
        var out = """

            ## The front desk (issue: the front desk)

            `crmd web` in front of `crmd serve` on a `crmd demo --customers \(arguments.historyCustomers) --years 3` company,
            logged in as a manager; closed-loop HTTP/1.1 keep-alive clients on loopback, one thread each. Beside
            each page, the same work asked of the daemon's Unix socket by as many clients in the same run: the
            file's `customer.get` with `changes: true` (the file and its field changes, what the page asks),
            the search's `customer.find` (one hit: the page answers with a redirect to the file), and for the
            dashboard its eleven queries one after the other (the page asks them at once).

            | page | connections | page p50 ms | page p99 ms | pages/s | socket p50 ms | socket p99 ms | socket /s | p50 page / socket |
            |---|---:|---:|---:|---:|---:|---:|---:|---:|

            """
        for row in pages {
            out +=
                "| \(row.page) | \(row.connections) | \(ms(row.pageP50)) | \(ms(row.pageP99)) | \(Int(row.pageRate)) | \(ms(row.bareP50)) | \(ms(row.bareP99)) | \(Int(row.bareRate)) | \(String(format: "%.2f", row.pageP50 / max(row.bareP50, 1e-9))) |\n"
        }
        let file = pages.first { $0.page == "/customers/{id}" && $0.connections == 16 }
        if let file {
            out += """

                Goals: a page costs no more than twice its bare query; `/customers/{id}` p99 under 30 ms at 16
                connections. This run: p99 \(ms(file.pageP99)) ms at 16 (\(file.pageP99 < 0.030 ? "met" : "not met")).

                """
        }
        return out
    }

    /// `crmd import` through the daemon beside the daemon's own command rate.
    private func importSection() -> String {
        let ratio = imports.rate / imports.registerRate
        var out = """

            ## Import (issue: bring your history)

            A generated CSV of \(imports.rows) customers (Persian names, phones, emails, Jalali registration
            dates) imported with `crmd import customers` through a fresh daemon: the importer reads and
            checks every row, looks its phones and emails up for duplicates (one `customer.lookup` per
            window of 1,024 rows, sent with the registrations of the window before) and registers it.
            Baseline: the same daemon build's `customer.register` over the socket from
            \(imports.baselineConnections) closed-loop connections, measured in the same run.

            | rows | seconds | import rows/s | customer.register/s | import / register |
            |---:|---:|---:|---:|---:|
            | \(imports.rows) | \(String(format: "%.1f", imports.seconds)) | \(Int(imports.rate)) | \(Int(imports.registerRate)) | \(String(format: "%.0f", 100 * ratio))% |

            Goal: at least 50% of the daemon's command rate. This run: \(ratio >= 0.5 ? "met" : "not met").

            A demo company's history (`crmd demo --customers \(arguments.historyCustomers) --years 3`) exported with
            `crmd export` and imported, file by file, into an empty company with the same staff:

            | file | rows | seconds | rows/s | summary |
            |---|---:|---:|---:|---|

            """
        for row in imports.history {
            out +=
                "| \(row.kind) | \(row.rows) | \(String(format: "%.1f", row.seconds)) | \(Int(Double(row.rows) / max(row.seconds, 0.001))) | \(row.summary) |\n"
        }
        return out
    }

    /// The run's header, and durable appends against raw LMDB and SQLite.
    private func appendsSection() -> String {
        var out = """
            # crmd benchmarks

            Written by `make bench` (`.build/release/crmd-bench --output BENCHMARKS.md`); every figure below
            comes from one run, with its baseline measured beside it in that same run.

            - date: \(Timestamp.now().rfc3339.prefix(19))Z
            - machine: \(BenchReport.machine())
            - event: \(payload.storedSize) stored bytes (\(payload.data.count)-byte JSON payload with a Persian note), one event per append
            - durability: every commit is fsync'd (LMDB default sync; SQLite WAL with synchronous=FULL)

            ## Durable appends (issue: the event log)

            Each appender awaits its append before sending the next (closed loop). The raw-LMDB and SQLite
            baselines write values of the same size in transactions of the mean size the store's group
            commit reached at that concurrency, one durable commit each, from one thread. The last two
            columns are SQLite again as people build an event store on it: each row also holds its stream
            and version under `UNIQUE(stream, version)`, one stream per appender (the store keeps that
            index too, and a hash chain); the goal is set against the plain table.

            | appenders | store events/s | p50 ms | p99 ms | events/commit | raw LMDB events/s | store / raw | SQLite events/s | store / SQLite | SQLite with streams events/s | store / that |
            |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|

            """
        for row in appends {
            out +=
                "| \(row.appenders) | \(int(row.store.rate)) | \(ms(row.store.p50)) | \(ms(row.store.p99)) | "
                + "\(String(format: "%.1f", row.store.eventsPerCommit)) | \(int(row.raw.rate)) | \(ratio(row.store.rate, row.raw.rate)) | "
                + "\(int(row.sqlite.rate)) | \(ratio(row.store.rate, row.sqlite.rate)) | "
                + "\(int(row.sqliteStreams.rate)) | \(ratio(row.store.rate, row.sqliteStreams.rate)) |\n"
        }
        let top = appends.max { $0.appenders < $1.appenders }
        let writeVerdict =
            top.map { row in
                let raw = row.store.rate / row.raw.rate >= 0.6 ? "met" : "not met"
                let sqlite = row.store.rate > row.sqlite.rate ? "met" : "not met"
                return "at \(row.appenders) appenders: 60% of raw LMDB \(raw), ahead of SQLite \(sqlite)"
            } ?? "-"
        out += """

            Goal at 256 appenders: at least 60% of raw LMDB at the same batch size, and ahead of SQLite.
            This run: \(writeVerdict). Appends write only the events; the stream and request indexes are
            merged every 4096 events (docs/design.md), which is what the p99 column shows.

            """
        return out
    }

    /// Commands through CommandService beside the store's own rate.
    private func commandsSection() -> String {
        let top = appends.max { $0.appenders < $1.appenders }
        let out = """

            ## Commands (issue: the CRM domain)

            `note.add` through `CommandService` from \(commandClients) concurrent agents, each on its own customer:
            schema validation, the decision on the company's state (caught up from the log), sealing the
            note under the customer's key, JSON encoding and the durable append. Beside it, the store's
            own rate at the same concurrency from the table above (bare appends of a prepared event).

            | clients | commands/s | p50 ms | p99 ms | store appends/s | commands / appends |
            |---:|---:|---:|---:|---:|---:|
            | \(commandClients) | \(int(commands.rate)) | \(ms(commands.p50)) | \(ms(commands.p99)) | \(int(top?.store.rate ?? 0)) | \(ratio(commands.rate, top?.store.rate ?? 0)) |

            """
        return out
    }

    /// The real daemon over its socket, beside the store at the same concurrency.
    private func socketSection() -> String {
        var out = """

            ## The daemon over its socket (issue: crmd serve)

            The real `crmd serve` (release build) on a fresh directory; a closed-loop load generator in
            this repository (`SocketBench.swift`): each connection sends `note.add` about its own
            customer, waits for the durable response, sends the next. All connections are driven by
            one thread with poll(2), so the generator costs the shared two cores little. The daemon's
            events per commit come from `system.status` before and after each load, its CPU time from
            /proc. Beside each row, the store's own group-commit rate with as many appenders as there
            were connections (bare appends of a prepared event, measured right after, same run).

            | connections | commands/s | p50 ms | p99 ms | p99.9 ms | events per commit | daemon CPU µs per command | store appends/s (same concurrency) | socket / store |
            |---:|---:|---:|---:|---:|---:|---:|---:|---:|

            """
        for row in socket {
            out +=
                "| \(row.connections) | \(int(row.rate)) | \(ms(row.p50)) | \(ms(row.p99)) | \(ms(row.p999)) | "
                + "\(String(format: "%.1f", row.eventsPerCommit)) | \(int(row.cpuPerCommand * 1e6)) | \(int(row.storeRate)) | \(ratio(row.rate, row.storeRate)) |\n"
        }
        let busiest = socket.max { $0.connections < $1.connections }
        let socketVerdict = busiest.map { $0.rate >= 50_000 && $0.p99 < 0.010 ? "met" : "not met" } ?? "-"
        out += """

            Goal at 128 connections: at least 50,000 durable commands/s with p99 under 10 ms (this run: \(socketVerdict)).

            """
        return out
    }

    /// Reading the whole log, decoded against a raw cursor scan.
    private func readSection() -> String {
        let readVerdict = read.decodedRate / read.rawRate >= 0.25 ? "met" : "not met"
        let out = """

            ## Reading the whole log

            \(int(Double(read.events))) events written by the store, then read back once as decoded envelopes
            (`EventStore.scan`, 4096 per read transaction) and by a raw `mdb_cursor_get` scan of the same file;
            each five times, the fastest pass counting.

            | decoded envelopes events/s | raw cursor scan events/s | decoded / raw |
            |---:|---:|---:|
            | \(int(read.decodedRate)) | \(int(read.rawRate)) | \(ratio(read.decodedRate, read.rawRate)) |

            Goal: decoded at least a quarter (25%) of the raw scan. This run: \(readVerdict).

            """
        return out
    }

    /// Rebuilding projections against a bare read, and asOf latency.
    private func projectionsSection() -> String {
        var out = """

            ## Projections (issue: projections)

            A demo company's history (`DemoCompany`: customers, calls, emails, SMS, quotes, deals,
            follow-ups, invoices, payments, voids, staff leaving, customers forgotten) written through
            the commands (\(String(format: "%.0f", projections.generationSeconds)) s), then at each size: a bare read of the whole log (`EventStore.scan`,
            best of three) beside a rebuild of every projection from position 1 into an empty directory
            (`Projector.rebuild`, batches of 8192 events, one transaction each). Heap is the growth of the
            process's anonymous memory (RssAnon, sampled every 5 ms) during the rebuild. Beside them, the
            same read decoding every payload into its typed event as well (`ProjectedEvent`, one thread,
            best of three): the least a projection that looks at payloads does per event.

            | events | bare read events/s | payloads decoded events/s | decoded / bare | rebuild events/s | rebuild / bare | peak heap growth |
            |---:|---:|---:|---:|---:|---:|---:|

            """
        for size in projections.sizes {
            out +=
                "| \(int(Double(size.events))) | \(int(size.bareRate)) | \(int(size.payloadRate)) | \(ratio(size.payloadRate, size.bareRate)) | "
                + "\(int(size.rebuildRate)) | \(ratio(size.rebuildRate, size.bareRate)) | "
                + "\(String(format: "%.1f", Double(size.peakHeapGrowth) / 1_048_576)) MiB |\n"
        }
        let rebuildVerdict = projections.sizes.allSatisfy { $0.rebuildRate / $0.bareRate >= 0.25 } ? "met" : "not met"
        let asOfVerdict = projections.asOfP99 < 0.005 ? "met" : "not met"
        out += """

            Goal: rebuild at no less than a quarter of the bare read rate (this run: \(rebuildVerdict)), with peak
            memory that does not grow with the log's length (compare the rows).

            `customer.get` with `asOf` (a random customer at a random time since their registration) on the \(int(Double(projections.sizes.last?.events ?? 0)))-event log,
            \(projections.asOfQueries) queries: p50 \(ms(projections.asOfP50)) ms, p99 \(ms(projections.asOfP99)) ms. Goal: p99 under 5 ms (this run: \(asOfVerdict)).

            """
        return out
    }

    /// Verifying the hash chain and every index.
    private func verifySection() -> String {
        let out = """

            ## Verify

            `verify` (hash chain plus every index, both directions) over the same log: \(int(verifyRate)) events/s,
            so a nightly check of \(int(Double(read.events))) events takes \(String(format: "%.1f", Double(read.events) / verifyRate)) s.

            """
        return out
    }

    /// Appends, rebuild and customer.get as the log grows.
    private func scalingSection() -> String {
        var out = ""
        if !scaling.isEmpty {
            out += """

                ## Scaling with history

                One log grown to each size (customers of 100 events each: a registration with sealed
                personal data, then calls, notes, emails and SMS on the customer's activity stream,
                written straight into the store). At each size: appends from 256 concurrent appenders
                (one call each on a random customer, at most a tenth of the log, 100,000 or 4 s), a rebuild of every projection from position 1,
                and `customer.get` of 2,000 random customers. The last column compares with the
                smallest log: how much of its append rate is left.

                | events | customers | appends events/s | rebuild events/s | customer.get p50 | customer.get p99 | appends vs. smallest |
                |---:|---:|---:|---:|---:|---:|---:|

                """
            for row in scaling {
                out +=
                    "| \(int(Double(row.events))) | \(int(Double(row.customers))) | \(int(row.appendRate)) | \(int(row.rebuildRate)) | "
                    + "\(ms(row.getP50)) ms | \(ms(row.getP99)) ms | \(ratio(row.appendRate, scaling[0].appendRate)) |\n"
            }
        }
        return out
    }

    private func int(_ value: Double) -> String {
        let number = NumberFormatter()
        number.numberStyle = .decimal
        number.groupingSeparator = ","
        return number.string(from: NSNumber(value: Int(value.rounded()))) ?? String(Int(value))
    }

    private func ms(_ seconds: Double) -> String { String(format: "%.2f", seconds * 1000) }

    private func ratio(_ a: Double, _ b: Double) -> String { b == 0 ? "-" : String(format: "%.1f%%", a / b * 100) }

    /// CPU model, cores, memory and kernel, from /proc and uname.
    static func machine() -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model =
            cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let memory = ProcessInfo.processInfo.physicalMemory / (1 << 30)
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return "\(model), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(memory) GiB, Linux \(release)"
    }
}
