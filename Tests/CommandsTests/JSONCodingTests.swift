@testable import CRMEvents
import CRMTestSupport
import Commands
import Demo
import EventStore
import Foundation
@testable import JSONKit
import XCTest

/// Payloads are decoded and encoded by crmd's own tree coder (`JSON.decode`, `JSON.encode`);
/// Foundation's JSONDecoder and JSONEncoder are the reference it must agree with.
final class JSONCodingTests: XCTestCase {
    func testEveryEventOfADemoHistoryReadsAndWritesAsFoundationDoes() async throws {
        let now = Locked(DemoCompany.defaultStart.microsecondsSince1970)
        let company = try Company(self, clock: { Timestamp(microsecondsSince1970: now.withLock { $0 }) })
        let demo = DemoCompany(service: company.service) { time in
            now.withLock { $0 = max($0, time.microsecondsSince1970) }
        }
        try await demo.run(customers: 60, years: 1, seed: 11)
        let log = try company.log()
        XCTAssertGreaterThan(log.count, 1000)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var types = Set<String>()
        for event in log {
            let fact = try EventCatalogue.fact(event)
            let decoded = fact.event
            types.insert(event.type)
            var reference: JSON
            switch decoded {
            case .interaction(_, let interaction):
                XCTAssertEqual(
                    try JSONDecoder().decode(Interaction.self, from: Data(event.data)), interaction, "\(event.position)"
                )
                reference = try JSON.parse(Array(encoder.encode(interaction)))
            default:
                let payload = try XCTUnwrap(decoded.payload)
                XCTAssertTrue(try matchesFoundation(payload, event.data), "\(event.type) at \(event.position)")
                reference = try JSON.parse(Array(encoder.encode(payload)))
                if !decoded.datesItself, case .object(var members) = reference {
                    members["at"] = .string(fact.at.rfc3339)
                    reference = .object(members)
                }
            }
            // What crmd writes is what Foundation writes (as a value), and re-encoding a stored
            // payload gives back its stored bytes exactly.
            XCTAssertEqual(fact.event.proposed(at: fact.at).data, event.data, "\(event.type) at \(event.position)")
            XCTAssertEqual(try JSON.parse(event.data), reference, "\(event.type) at \(event.position)")
        }
        XCTAssertGreaterThanOrEqual(types.count, 25, "the demo history covers most event types: \(types.sorted())")
    }

    func testEncodingErrorsNameThePathOfTheValueThatDoesNotFit() throws {
        struct Item: Encodable { var n: UInt64 }
        struct Outer: Encodable {
            var items: [Item]
            var counts: [UInt64] = []
            var ratio: Double = 1
        }
        func path(_ value: Outer) -> [String]? {
            guard case .failure(let error) = Result(catching: { try JSON.encode(value) }) else { return nil }
            guard case EncodingError.invalidValue(_, let context) = error else { return ["unexpected \(error)"] }
            return context.codingPath.map(\.stringValue)
        }
        XCTAssertEqual(path(Outer(items: [Item(n: 1), Item(n: .max)])), ["items", "1", "n"])
        XCTAssertEqual(path(Outer(items: [], counts: [3, 4, .max])), ["counts", "2"])
        XCTAssertEqual(path(Outer(items: [], ratio: .nan)), ["ratio"])
        XCTAssertEqual(
            try JSON.encode(Outer(items: [Item(n: 7)], counts: [1], ratio: 0.5)),
            try JSON.parse(#"{"items": [{"n": 7}], "counts": [1], "ratio": 0.5}"#))
    }

    func testDecodingErrorsNameTheFullPathOfTheValue() throws {
        struct Inner: Decodable { var n: UInt8 }
        struct Outer: Decodable {
            var items: [Inner]
            var tags: [String]
        }
        func path(_ text: String) throws -> [String]? {
            let json = try JSON.parse(text)
            guard case .failure(let error) = Result(catching: { try json.decode(Outer.self) }) else { return nil }
            switch error as? DecodingError {
            case .typeMismatch(_, let context)?, .dataCorrupted(let context)?, .valueNotFound(_, let context)?:
                return context.codingPath.map(\.stringValue)
            case .keyNotFound(let key, let context)?:
                return context.codingPath.map(\.stringValue) + [key.stringValue]
            default:
                return ["unexpected \(error)"]
            }
        }
        XCTAssertEqual(try path(#"{"items": [{"n": 1}, {"n": 300}], "tags": []}"#), ["items", "1", "n"])
        XCTAssertEqual(try path(#"{"items": [], "tags": ["الف", 5]}"#), ["tags", "1"])
        XCTAssertEqual(try path(#"{"items": [{"m": 1}], "tags": []}"#), ["items", "0", "n"])
        XCTAssertEqual(try path(#"{"items": {"n": 1}, "tags": []}"#), ["items"])
        XCTAssertNil(try path(#"{"items": [{"n": 255}], "tags": ["ی"]}"#))
    }

    func testDecodingErrorsNameTheMemberAndRefuseWhatDoesNotFit() throws {
        struct Sample: Codable, Equatable {
            var name: String
            var count: UInt8
            var tags: [String]?
            var nested: [String: Int64]
        }
        let good = try JSON.parse(#"{"name":"رضا","count":200,"nested":{"a":1,"b":-2},"tags":null}"#)
        XCTAssertEqual(
            try good.decode(Sample.self), Sample(name: "رضا", count: 200, tags: nil, nested: ["a": 1, "b": -2]))
        XCTAssertEqual(
            try JSON.encode(Sample(name: "x", count: 1, tags: ["t"], nested: [:])).serialized(sortedKeys: true),
            #"{"count":1,"name":"x","nested":{},"tags":["t"]}"#)
        let refused: [(String, String)] = [
            (#"{"name":"a","count":300,"nested":{}}"#, "count"),
            (#"{"name":"a","count":1.5,"nested":{}}"#, "count"),
            (#"{"name":1,"count":1,"nested":{}}"#, "name"),
            (#"{"name":"a","count":1}"#, "nested"),
            (#"{"name":"a","count":1,"nested":{"a":"x"}}"#, "a"),
        ]
        for (text, member) in refused {
            XCTAssertThrowsError(try JSON.parse(text).decode(Sample.self), text) { error in
                XCTAssertNotNil(error as? DecodingError, text)
                XCTAssertTrue("\(error)".contains(member), "\(error) names \(member)")
            }
        }
        // A large object is looked up by name, not member by member.
        let members = (0..<5000).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let many = try JSON.parse(#"{"name":"a","count":1,"nested":{"# + members + "}}")
        XCTAssertEqual(try many.decode(Sample.self).nested.count, 5000)
    }

    private func matchesFoundation<P: EventPayload>(_ payload: P, _ data: [UInt8]) throws -> Bool {
        try JSONDecoder().decode(P.self, from: Data(data)) == payload
    }
}
