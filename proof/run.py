"""`make proof`: every part against the real binary, then one summary table.

Parts: the crash loop, faults, the socket fuzzer, security, libFuzzer over the request decoder and
command validation, and the test suite under the thread and address sanitizers. With --output the
table (with the date, the machine and the command) replaces the "Proof" section of that file.
Exits 1 when any part fails; every part is bounded in time."""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def python_part(script, *arguments):
    """Runs a proof script; returns its JSON figure lines and whether it passed."""
    began = time.monotonic()
    result = subprocess.run([sys.executable, os.path.join(HERE, script), *arguments], capture_output=True, text=True, cwd=ROOT)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    sys.stderr.write(result.stderr)
    print(f"  {script}: {'passed' if result.returncode == 0 else 'FAILED'} in {time.monotonic() - began:.0f} s", flush=True)
    for line in lines:
        print("   ", json.dumps(line, ensure_ascii=False), flush=True)
    return lines, result.returncode == 0


def libfuzzer(seconds):
    """Builds the libFuzzer target (its own build path) and runs it for SECONDS."""
    build = subprocess.run(["swift", "build", "--build-path", ".build-fuzz", "-c", "release", "--product", "crmd-fuzz",
                            "-Xswiftc", "-sanitize=fuzzer,address", "-Xswiftc", "-DFUZZING"], cwd=ROOT, capture_output=True, text=True)
    if build.returncode != 0:
        print(build.stdout[-3000:], build.stderr[-3000:], file=sys.stderr)
        return {"part": "libFuzzer", "built": False, "executions": 0, "crashes": 1}, False
    corpus = tempfile.mkdtemp(prefix="crmd-fuzz-corpus-")
    for name in os.listdir(os.path.join(ROOT, "Fuzz", "corpus")):
        shutil.copy(os.path.join(ROOT, "Fuzz", "corpus", name), corpus)
    artifacts = tempfile.mkdtemp(prefix="crmd-fuzz-artifacts-") + "/"
    run = subprocess.run([os.path.join(ROOT, ".build-fuzz", "release", "crmd-fuzz"), corpus, f"-max_total_time={seconds}",
                          "-max_len=65536", "-print_final_stats=1", "-detect_leaks=0", f"-artifact_prefix={artifacts}", "-rss_limit_mb=4096"],
                         capture_output=True, text=True, cwd=ROOT,
                         # LeakSanitizer cannot follow pointers kept in Swift's multi-payload enums.
                         env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    executed = re.search(r"stat::number_of_executed_units:\s*(\d+)", run.stderr)
    coverage = re.findall(r"cov: (\d+)", run.stderr)
    crashes = len(os.listdir(artifacts))
    ok = run.returncode == 0 and crashes == 0
    if not ok:
        print(run.stderr[-4000:], file=sys.stderr)
    figures = {"part": "libFuzzer", "seconds": seconds, "executions": int(executed.group(1)) if executed else 0,
               "coverage": int(coverage[-1]) if coverage else 0, "crashes": crashes if crashes else (0 if ok else 1),
               "artifacts": artifacts if crashes else None}
    print("   ", json.dumps(figures), flush=True)
    if ok:
        shutil.rmtree(corpus, ignore_errors=True)
        shutil.rmtree(artifacts, ignore_errors=True)
    return figures, ok


def sanitizer(name):
    """Builds and runs the whole test suite under -sanitize=NAME in its own build path."""
    path = f".build-{name}"
    began = time.monotonic()
    build = subprocess.run(["swift", "build", "--build-tests", "--build-path", path, f"--sanitize={name}"], cwd=ROOT, capture_output=True, text=True)
    if build.returncode != 0:
        print(build.stdout[-3000:], build.stderr[-3000:], file=sys.stderr)
        return {"part": f"sanitizer {name}", "built": False, "tests": 0, "failures": 1}, False
    environment = dict(os.environ, CRMD_SANITIZER=name)
    if name == "thread":
        environment["TSAN_OPTIONS"] = "halt_on_error=1:second_deadlock_stack=1"
    else:
        # LeakSanitizer cannot follow pointers kept in Swift's multi-payload enums; its report at
        # every daemon's exit is all such tables, and big enough to block on an undrained pipe.
        environment["ASAN_OPTIONS"] = "detect_leaks=0"
    try:
        test = subprocess.run(["swift", "test", "--skip-build", "--build-path", path, f"--sanitize={name}"], cwd=ROOT,
                              capture_output=True, text=True, env=environment, timeout=int(os.environ.get("PROOF_SANITIZER_TIMEOUT", "1800")))
        output, returncode = test.stdout + test.stderr, test.returncode
    except subprocess.TimeoutExpired as expired:
        output = (expired.stdout or b"").decode(errors="replace") + (expired.stderr or b"").decode(errors="replace") + "\nTIMED OUT"
        returncode = -1
        subprocess.run(["pkill", "-f", f"{path}/"])  # the hung suite and the daemons it started
    executed = [(int(t), int(f)) for t, f in re.findall(r"Executed (\d+) tests?, with (?:\d+ tests? skipped and )?(\d+) failures?", output)]
    # Every suite prints its own line; the one with the most tests is the whole run.
    tests, failures = max(executed) if executed else (0, 1)
    reports = len(re.findall(r"WARNING: ThreadSanitizer|ERROR: AddressSanitizer", output))
    ok = returncode == 0 and failures == 0 and reports == 0
    if not ok:
        print(output[-6000:], file=sys.stderr)
    figures = {"part": f"sanitizer {name}", "tests": tests, "failures": failures, "sanitizerReports": reports, "timedOut": returncode == -1,
               "seconds": round(time.monotonic() - began)}
    print("   ", json.dumps(figures), flush=True)
    return figures, ok


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", help="a Markdown file whose Proof section gets the table")
    parser.add_argument("--skip", nargs="*", default=os.environ.get("PROOF_SKIP", "").split(), help="parts to leave out")
    parser.add_argument("--fuzz-seconds", type=int, default=120)
    parser.add_argument("--only", nargs="*", help="run only these parts; the others keep the figures of their last run (.build/proof-figures.json)")
    arguments = parser.parse_args()
    skip = set(arguments.skip)
    started = time.monotonic()
    saved_path = os.path.join(ROOT, ".build", "proof-figures.json")
    saved = {}
    if arguments.only is not None and os.path.exists(saved_path):
        saved = json.load(open(saved_path))
    figures = {name: entry["figures"] for name, entry in saved.items()}
    passed = {name: entry["passed"] for name, entry in saved.items()}
    ran_at = {name: entry["at"] for name, entry in saved.items()}

    def part(name, function):
        if name in skip or (arguments.only is not None and name not in arguments.only):
            print(f"  {name}: {'kept from ' + ran_at[name] if name in ran_at else 'skipped'}", flush=True)
            return
        print(f"{name} …", flush=True)
        figures[name], passed[name] = function()
        ran_at[name] = datetime.datetime.now().isoformat(timespec="minutes")
        os.makedirs(os.path.dirname(saved_path), exist_ok=True)
        json.dump({n: {"figures": figures[n], "passed": passed[n], "at": ran_at[n]} for n in figures}, open(saved_path, "w"), ensure_ascii=False)

    part("crash", lambda: python_part("crash_loop.py", "--kills", "25"))
    part("faults", lambda: python_part("faults.py"))
    part("socket-fuzz", lambda: python_part("socket_fuzz.py", "--seconds", "60"))
    part("security", lambda: python_part("security.py"))
    part("libfuzzer", lambda: libfuzzer(arguments.fuzz_seconds))
    part("tsan", lambda: sanitizer("thread"))
    part("asan", lambda: sanitizer("address"))

    rows = summary(figures, passed)
    table = "\n".join(["| measure | result |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows])
    print("\n" + table + "\n")
    ok = all(passed.values())
    print(f"make proof: {'passed' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s")
    if arguments.output:
        write_section(arguments.output, table, ok, skip, ran_at)
    sys.exit(0 if ok else 1)


def summary(figures, passed):
    rows = []
    crash = next(iter(figures.get("crash", [])), None)
    if crash:
        rows += [("kills survived (SIGKILL under 32 connections)", crash["kills"]),
                 ("requests sent / acknowledged", f"{crash['requests']:,} / {crash['acknowledged']:,}"),
                 ("requests retried after a kill / abandoned (of which written once)", f"{crash['retried']:,} / {crash['abandoned']} ({crash['abandonedWritten']})"),
                 ("acknowledged requests lost", crash["lost"]), ("requests written twice", crash["doubled"]),
                 ("verify after the crash loop", "passed" if crash["verify"] else "FAILED"),
                 ("live projections vs. rebuild (queries differing)", crash["projectionMismatches"])]
    fault_lines = figures.get("faults", [])
    if fault_lines:
        rows.append(("fault cases passed", f"{sum(1 for f in fault_lines if f['ok'])} of {len(fault_lines)} ({', '.join(f['case'] for f in fault_lines)})"))
        disk = next((f for f in fault_lines if f["case"] == "full disk"), None)
        if disk:
            rows.append((f"full disk ({disk.get('disk', 'tmpfs')}): writes refused `unavailable` / acknowledged lost",
                         f"{disk['refusedUnavailable']} / {disk['lost']}"))
        meta = next((f for f in fault_lines if f["case"] == "meta pages unwritable"), None)
        if meta:
            rows.append(("meta pages unwritable (MDB_PANIC): writes refused / acknowledged lost / carried on without a restart",
                         f"{sum(meta['refused'].values())} / {meta['lost']} / {'yes' if meta['resumedWithoutRestart'] else 'NO'}"))
    fuzz = next(iter(figures.get("socket-fuzz", [])), None)
    if fuzz:
        rows += [("socket fuzz: hostile inputs / connections", f"{fuzz['hostileInputs']:,} / {fuzz['hostileConnections']:,}"),
                 ("socket fuzz: well-behaved requests acknowledged / lost / slowest", f"{fuzz['wellBehavedAcknowledged']:,} / {fuzz['lost']} / {fuzz['wellBehavedMaxSeconds'] * 1000:.0f} ms"),
                 ("daemon crashes under fuzzing", fuzz["daemonCrashes"])]
    if "libfuzzer" in figures:
        lib = figures["libfuzzer"]
        rows.append(("libFuzzer executions / crashes found", f"{lib['executions']:,} / {lib['crashes']}"))
    security = next(iter(figures.get("security", [])), None)
    if security:
        rows.append(("security: access cases checked / file modes checked / findings",
                     f"{security.get('accessCasesTried', 0)} / {security.get('filesChecked', 0)} / {security.get('findings', 0)}"))
    for s in [figures[name] for name in ("tsan", "asan") if name in figures]:
        rows.append((f"test suite under {s['part'].split()[-1]} sanitizer", f"{s['tests']} tests, {s['failures']} failures, {s['sanitizerReports']} reports"))
    rows.append(("parts passed", f"{sum(passed.values())} of {len(passed)}"))
    return rows


def write_section(path, table, ok, skip, ran_at):
    heading = "## Proof (`make proof`)"
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"
    runs = ", ".join(f"{name} {at}" for name, at in sorted(ran_at.items(), key=lambda item: item[1]))
    body = (f"{heading}\n\n`make proof` (`python3 proof/run.py --output BENCHMARKS.md`) on {machine}: "
            f"{'every part passed' if ok else 'SOME PARTS FAILED'}"
            f"{'; skipped: ' + ', '.join(sorted(skip)) if skip else ''}. Each part's run: {runs}.\n\n{table}\n")
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    start = text.find(heading)
    if start >= 0:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + body + (text[end:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + body
    open(path, "w", encoding="utf-8").write(text)


if __name__ == "__main__":
    main()
