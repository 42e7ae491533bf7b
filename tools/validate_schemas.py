#!/usr/bin/env python3
"""Checks crmd's JSON Schemas with an independent implementation (python-jsonschema).

1. every file under schemas/ is a valid draft 2020-12 schema;
2. every event the Swift test suite wrote (JSON lines in --events DIR) has a valid envelope and
   a payload valid against schemas/events/<type>.v<schema>.json;
3. every request example in docs/*.md (```json blocks whose first line is a request with an
   "op") is a valid wire request with arguments valid against schemas/commands/<op>.json.

Exits 1 with one line per problem, so code, schemas and docs cannot drift apart.
"""
import argparse
import json
import pathlib
import re
import sys

from jsonschema import Draft202012Validator

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def validator(path):
    schema = load(path)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def first_error(v, instance):
    error = next(iter(sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path))), None)
    if error is None:
        return None
    return "/" + "/".join(str(p) for p in error.absolute_path) + ": " + error.message


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", help="directory of .jsonl event dumps from the Swift tests")
    parser.add_argument("--min-events", type=int, default=1, help="fail when fewer events were checked")
    args = parser.parse_args()

    schemas = ROOT / "schemas"
    problems = []
    validators = {}
    for path in sorted(schemas.rglob("*.json")):
        try:
            validators[str(path.relative_to(schemas))] = validator(path)
        except Exception as e:  # noqa: BLE001 - report every broken schema, not just the first
            problems.append(f"{path}: not a valid draft 2020-12 schema: {e}")
    print(f"schemas: {len(validators)} files are valid draft 2020-12 schemas")

    checked_events = 0
    types = set()
    if args.events:
        envelope = validators["event-envelope.json"]
        for dump in sorted(pathlib.Path(args.events).glob("*.jsonl")):
            for number, line in enumerate(dump.read_text(encoding="utf-8").splitlines(), 1):
                event = json.loads(line)
                where = f"{dump.name}:{number} ({event.get('type')} at {event.get('position')})"
                if (problem := first_error(envelope, event)) is not None:
                    problems.append(f"{where}: envelope {problem}")
                    continue
                key = f"events/{event['type']}.v{event['schema']}.json"
                if key not in validators:
                    if event["type"] in ("Tested", "SelftestRun"):
                        continue
                    problems.append(f"{where}: no schema {key}")
                    continue
                if (problem := first_error(validators[key], event["data"])) is not None:
                    problems.append(f"{where}: data {problem}")
                checked_events += 1
                types.add(event["type"])
        print(f"events: {checked_events} events of {len(types)} types written by the tests match their schemas")
        if checked_events < args.min_events:
            problems.append(f"only {checked_events} events were checked; expected at least {args.min_events}")

    request = validators["wire/request.json"]
    response_schema = validators["wire/response.json"]
    examples = responses = 0
    for doc in sorted((ROOT / "docs").glob("*.md")):
        for block in re.findall(r"```json\n(.*?)```", doc.read_text(encoding="utf-8"), re.S):
            lines = block.strip().splitlines()
            answer = None
            if len(lines) == 2:  # a request and the daemon's response (docs/protocol.md)
                try:
                    answer = json.loads(lines[1])
                except json.JSONDecodeError:
                    answer = None
                if isinstance(answer, dict) and "ok" in answer:
                    responses += 1
                    if (problem := first_error(response_schema, answer)) is not None:
                        problems.append(f"{doc.name}: response {lines[1][:80]}: {problem}")
            for line in lines:
                try:
                    value = json.loads(line)
                except json.JSONDecodeError:
                    break  # a multi-line block is an illustration, not a request line
                if not isinstance(value, dict) or "op" not in value:
                    continue
                examples += 1
                where = f"{doc.name}: {value['op']} example"
                # An example of a refusal shows a bad request on purpose: only its envelope must hold.
                refused = isinstance(answer, dict) and answer.get("ok") is False and \
                    answer.get("error", {}).get("code") in ("bad_request", "unknown_op", "invalid_args")
                if (problem := first_error(request, value)) is not None and not refused:
                    problems.append(f"{where}: request {problem}")
                    continue
                if refused:
                    continue
                key = f"commands/{value['op']}.json"
                if key not in validators:
                    key = f"queries/{value['op']}.json"
                if key not in validators:
                    if value["op"] != "log.subscribe":
                        problems.append(f"{where}: no schema for op {value['op']}")
                    continue
                if (problem := first_error(validators[key], value.get("args", {}))) is not None:
                    problems.append(f"{where}: args {problem}")
    print(f"docs: {examples} request examples match the wire and command schemas; {responses} responses match wire/response.json")

    for problem in problems:
        print("FAIL " + problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
