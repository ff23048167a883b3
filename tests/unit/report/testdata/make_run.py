#!/usr/bin/env python3
"""Writes run/, a small run folder as `gotestrun run` leaves it, for the report tests.

The run: module gotestrun.dev/fixtures/memory (tests/fixtures/memory), 5 packages in
2 shards, memory 192Mi up to maxMemory 320Mi.

  shard 0: leak, clean/a
    a1 192Mi  leak's binary OOM-killed in TestPayments (the agent survived), clean/a passed
    a2 288Mi  leak alone, killed in TestReports
    a3 320Mi  leak alone at maxMemory, the whole container killed in TestReports: no
              result.json, no exec record, events.jsonl and memory.tsv cut mid-line
              -> leak: OOMKilled, DoesNotFit, LeakAcrossTests
  shard 1: parallelspike, clean/b, clean/c
    a1 192Mi -parallel 8: parallelspike killed with 8 subtests running; clean/b failed
              a test (TestsFailed, not retried), clean/c passed
    a2 192Mi -parallel 2: parallelspike passed

Memory figures follow the fixture's measured behaviour (40 MiB per leak test, 40 MiB
per running parallelspike subtest); times are made up but consistent. The heap
profiles under run/s0/a2/heap and run/s0/a3/heap are real: the agent's profiles of
tests/fixtures/memory/leak (`gotestrun-agent run --heap-interval 40ms ./leak`); this
script leaves them as they are.

    python3 tests/unit/report/testdata/make_run.py
"""
import datetime
import json
import os
import shutil

import yaml  # PyYAML: quotes what YAML 1.1 would read as another type

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(HERE, "run")
MOD = "gotestrun.dev/fixtures/memory"
MiB = 1 << 20
BASE = int(datetime.datetime(2026, 11, 28, 10, 0, 0, tzinfo=datetime.timezone.utc).timestamp() * 1000)


def pkg(name):
    return MOD + "/" + name


def escape(import_path):
    # agent::EscapePackage for the names used here (letters, digits, '/', '.').
    return import_path.replace("/", "_")


def rfc3339(ms, micro=False):
    t = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (".%06dZ" % (ms % 1000 * 1000) if micro else "Z")


def write(rel, text):
    path = os.path.join(RUN, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


class Events:
    """go test -json lines."""

    def __init__(self):
        self.lines = []

    def ev(self, ms, action, package, test=None, output=None, elapsed=None):
        e = {"Time": rfc3339(ms, micro=True), "Action": action, "Package": package}
        if test is not None:
            e["Test"] = test
        if output is not None:
            e["Output"] = output
        if elapsed is not None:
            e["Elapsed"] = elapsed
        self.lines.append(json.dumps(e, separators=(",", ":")))

    def passing(self, ms, package, test, elapsed=0.02, lines=()):
        self.ev(ms, "run", package, test)
        self.ev(ms, "output", package, test, "=== RUN   %s\n" % test)
        for line in lines:
            self.ev(ms, "output", package, test, line + "\n")
        self.ev(ms + int(elapsed * 1000), "output", package, test, "--- PASS: %s (%.2fs)\n" % (test, elapsed))
        self.ev(ms + int(elapsed * 1000), "pass", package, test, elapsed=elapsed)

    def text(self):
        return "\n".join(self.lines) + "\n"


def memory_tsv(start, end, usage, limit, cut=False):
    out = ["#source\tcgroup2\t/sys/fs/cgroup/kubepods/pod-run/gotestrun"]
    t = start
    while t <= end:
        out.append("%d\t%d\t%d" % (t, usage(t - start), limit))
        t += 200
    text = "\n".join(out) + "\n"
    if cut:
        text += "%d\t21" % (t)  # the sample being written when the kill came
    return text


def exec_record(package, start, end, rss, signal=0, exit_code=0, parallel=2):
    return json.dumps({
        "argv": ["/tmp/go-build/b001/%s.test" % package.rsplit("/", 1)[1], "-test.paniconexit0",
                 "-test.v=test2json", "-test.timeout=10m0s", "-test.parallel=%d" % parallel],
        "coreDumped": False, "endUnixMs": end, "exitCode": exit_code if signal == 0 else -1,
        "gomemlimit": None, "maxRssBytes": rss, "package": package, "signal": signal,
        "startUnixMs": start}, indent=2) + "\n"


def result_json(start, end, limit, peak, packages, exit_code=1, parallel=2):
    return json.dumps({
        "version": 1,
        "goTestArgv": ["go", "test", "-json", "-vet=off", "-parallel=%d" % parallel, "-p=2"],
        "goTestExitCode": exit_code, "goTestSignal": 0, "startUnixMs": start, "endUnixMs": end,
        "memorySource": "cgroup2 /sys/fs/cgroup/kubepods/pod-run/gotestrun", "limitBytes": limit,
        "peakBytes": peak, "oomKillsSeen": 1 if any(p["outcome"] == "killed" for p in packages) else 0,
        "error": "", "packages": packages}, indent=2) + "\n"


def package_record(package, outcome, elapsed, rss, running=(), failed=(), signal=0, gc_peak=None):
    return {"package": package, "outcome": outcome, "elapsedSeconds": elapsed,
            "runningTests": list(running), "failedTests": list(failed), "timedOut": False,
            "binary": {"exitCode": -1 if signal else (1 if outcome == "fail" else 0), "signal": signal,
                       "coreDumped": False, "maxRssBytes": rss},
            "buildPhase": "", "gcPeakHeapBytes": gc_peak}


LEAK_TESTS = ["TestOrders", "TestCustomers", "TestInvoices", "TestPayments", "TestRefunds", "TestLedger",
              "TestReports", "TestAudit"]


def leak_usage(build_ms, binary_ms, per_test_ms, build_peak):
    """cgroup usage: go build, then the test binary adding 40 MiB per test."""
    def usage(dt):
        if dt < build_ms:
            return int((24 + (build_peak - 24) * min(1.0, dt / (build_ms * 0.6))) * MiB)
        if dt < binary_ms:
            return 38 * MiB
        k = (dt - binary_ms) / per_test_ms
        return int((38 + 10 + 40 * k) * MiB)
    return usage


def leak_attempt(shard_dir, start, limit_mib, build_ms, killed_in, container_kill, profiles):
    """The leak binary killed when the cgroup reached the limit; returns (kill_ms, events)."""
    binary_ms, per_test = build_ms + 200, 600
    usage = leak_usage(build_ms, binary_ms, per_test, 150)
    # The kill: the first sample at or above the limit.
    kill_dt = binary_ms + int((limit_mib - 48) / 40 * per_test)
    kill = start + kill_dt
    write(shard_dir + "/memory.tsv",
          memory_tsv(start, kill - 1, lambda dt: min(usage(dt), limit_mib * MiB), limit_mib * MiB, cut=container_kill))
    ev = Events()
    leak = pkg("leak")
    ev.ev(start + binary_ms, "start", leak)
    t = start + binary_ms + 5
    for i, test in enumerate(LEAK_TESTS):
        if test == killed_in:
            ev.ev(t, "run", leak, test)
            ev.ev(t, "output", leak, test, "=== RUN   %s\n" % test)
            break
        ev.passing(t, leak, test, elapsed=0.6)
        t += per_test
    if container_kill:
        text = ev.text() + '{"Time":"%s","Action":"output","Package":"%s","Test":"%s","Out' % (
            rfc3339(kill - 40, micro=True), leak, killed_in)
    else:
        ev.ev(kill, "output", leak, killed_in, "signal: killed\n")
        ev.ev(kill + 2, "output", leak, None, "FAIL\t%s\t%.3fs\n" % (leak, (kill - start - binary_ms) / 1000))
        ev.ev(kill + 2, "fail", leak, elapsed=round((kill - start - binary_ms) / 1000, 3))
        text = ev.text()
    if not container_kill:
        write(shard_dir + "/exec/%s.json" % escape(leak),
              exec_record(leak, start + binary_ms, kill, (limit_mib - 14) * MiB, signal=9))
    if not profiles:
        return kill, text
    snaps = []
    for seq in range(1, profiles + 1):
        ms = start + binary_ms + seq * per_test
        heap = (10 + 40 * seq) * MiB
        snaps.append("%d\t%d\t3\t%d\t%d\t%d\t%d" % (ms, seq, heap, heap + 600 * 1024, heap + 4 * MiB, 2 * heap))
    write(shard_dir + "/heap/%s/snapshots.tsv" % escape(leak), "\n".join(snaps) + "\n")
    return kill, text


def main():
    # Keep the real heap profiles; rewrite everything else.
    keep = {}
    for root, _, files in os.walk(RUN):
        for f in files:
            if f.endswith(".pb.gz"):
                p = os.path.join(root, f)
                with open(p, "rb") as fh:
                    keep[os.path.relpath(p, RUN)] = fh.read()
    shutil.rmtree(RUN, ignore_errors=True)
    for rel, data in keep.items():
        os.makedirs(os.path.dirname(os.path.join(RUN, rel)), exist_ok=True)
        with open(os.path.join(RUN, rel), "wb") as fh:
            fh.write(data)

    leak, a, b, c, spike = pkg("leak"), pkg("clean/a"), pkg("clean/b"), pkg("clean/c"), pkg("parallelspike")

    write("run.yaml", """apiVersion: gotestrun.dev/v1alpha1
kind: GoTestRun
metadata:
  name: ledger
  namespace: ci
spec:
  source:
    volume:
      claimName: workspace
    moduleDir: tests/fixtures/memory
  image: golang:1.26
  packages: ["./..."]
  goTest:
    timeout: 10m
  resources:
    memory: 192Mi
    maxMemory: 320Mi
  sharding:
    shards: 2
  retry:
    maxAttempts: 4
""")
    write("plan/packages.json", json.dumps([
        {"importPath": p, "name": p.rsplit("/", 1)[1], "dir": "/src/tests/fixtures/memory/" + p[len(MOD) + 1:],
         "hasTests": True, "testGoFiles": [p.rsplit("/", 1)[1] + "_test.go"], "xTestGoFiles": []}
        for p in [a, b, c, leak, spike]], indent=2) + "\n")

    # ---- shard 0 ----
    s0a1 = BASE + 5000
    kill1, events = leak_attempt("s0/a1", s0a1, 192, 3000, "TestPayments", False, 0)
    ev = Events()
    ev.ev(s0a1 + 3000, "start", a)
    ev.passing(s0a1 + 3005, a, "TestTitle", elapsed=0)
    ev.passing(s0a1 + 3006, a, "TestTitleEmpty", elapsed=0)
    ev.ev(s0a1 + 3010, "output", a, None, "ok  \t%s\t0.009s\n" % a)
    ev.ev(s0a1 + 3010, "pass", a, elapsed=0.009)
    write("s0/a1/events.jsonl", ev.text() + events)
    write("s0/a1/exec/%s.json" % escape(a), exec_record(a, s0a1 + 2990, s0a1 + 3012, 9 * MiB))
    end1 = kill1 + 300
    write("s0/a1/result.json", result_json(s0a1, end1, 192 * MiB, 192 * MiB, [
        package_record(a, "pass", 0.009, 9 * MiB),
        package_record(leak, "killed", None, 178 * MiB, running=["TestPayments"], signal=9, gc_peak=168 * MiB)]))

    s0a2 = end1 + 2000
    kill2, events = leak_attempt("s0/a2", s0a2, 288, 900, "TestReports", False, 3)
    write("s0/a2/events.jsonl", events)
    end2 = kill2 + 300
    write("s0/a2/result.json", result_json(s0a2, end2, 288 * MiB, 288 * MiB, [
        package_record(leak, "killed", None, 274 * MiB, running=["TestReports"], signal=9, gc_peak=256 * MiB)]))

    s0a3 = end2 + 2000
    kill3, events = leak_attempt("s0/a3", s0a3, 320, 900, "TestReports", True, 4)
    write("s0/a3/events.jsonl", events)
    end3 = kill3 + 500

    # ---- shard 1 ----
    s1a1 = BASE + 5200
    ev = Events()
    ev.ev(s1a1 + 3000, "start", b)
    ev.passing(s1a1 + 3005, b, "TestSlug", elapsed=0)
    ev.ev(s1a1 + 3006, "run", b, "TestSlugUnicode")
    ev.ev(s1a1 + 3006, "output", b, "TestSlugUnicode", "=== RUN   TestSlugUnicode\n")
    ev.ev(s1a1 + 3007, "output", b, "TestSlugUnicode", "    b_test.go:21: Slug(\"Crème <brûlée>\") = \"cr-me-br-l-e\", want \"creme-brulee\"\n")
    ev.ev(s1a1 + 3007, "output", b, "TestSlugUnicode", "--- FAIL: TestSlugUnicode (0.00s)\n")
    ev.ev(s1a1 + 3007, "fail", b, "TestSlugUnicode", elapsed=0)
    ev.ev(s1a1 + 3008, "run", b, "TestSlugLong")
    ev.ev(s1a1 + 3008, "output", b, "TestSlugLong", "=== RUN   TestSlugLong\n")
    ev.ev(s1a1 + 3008, "output", b, "TestSlugLong", "    b_test.go:30: needs -long\n")
    ev.ev(s1a1 + 3008, "output", b, "TestSlugLong", "--- SKIP: TestSlugLong (0.00s)\n")
    ev.ev(s1a1 + 3008, "skip", b, "TestSlugLong", elapsed=0)
    ev.ev(s1a1 + 3010, "output", b, None, "FAIL\n")
    ev.ev(s1a1 + 3010, "output", b, None, "FAIL\t%s\t0.011s\n" % b)
    ev.ev(s1a1 + 3010, "fail", b, elapsed=0.011)
    ev.ev(s1a1 + 3050, "start", c)
    ev.ev(s1a1 + 3055, "run", c, "TestWords")
    ev.ev(s1a1 + 3055, "output", c, "TestWords", "=== RUN   TestWords\n")
    ev.passing(s1a1 + 3056, c, "TestWords/empty", elapsed=0)
    ev.passing(s1a1 + 3057, c, "TestWords/one", elapsed=0)
    ev.ev(s1a1 + 3058, "output", c, "TestWords", "--- PASS: TestWords (0.00s)\n")
    ev.ev(s1a1 + 3058, "pass", c, "TestWords", elapsed=0)
    ev.ev(s1a1 + 3060, "output", c, None, "ok  \t%s\t0.007s\n" % c)
    ev.ev(s1a1 + 3060, "pass", c, elapsed=0.007)
    # parallelspike with -parallel 8: 8 subtests of 40 MiB at once.
    spike_start = s1a1 + 3200
    ev.ev(spike_start, "start", spike)
    ev.ev(spike_start + 5, "run", spike, "TestBatch")
    ev.ev(spike_start + 5, "output", spike, "TestBatch", "=== RUN   TestBatch\n")
    for i in range(16):
        sub = "TestBatch/%02d" % i
        ev.ev(spike_start + 6, "run", spike, sub)
        ev.ev(spike_start + 6, "output", spike, sub, "=== RUN   %s\n" % sub)
        ev.ev(spike_start + 6, "output", spike, sub, "=== PAUSE %s\n" % sub)
        ev.ev(spike_start + 6, "pause", spike, sub)
    running = ["TestBatch"]
    for i in range(8):
        sub = "TestBatch/%02d" % i
        ev.ev(spike_start + 10, "cont", spike, sub)
        ev.ev(spike_start + 10, "output", spike, sub, "=== CONT  %s\n" % sub)
        running.append(sub)
    kill_s1 = spike_start + 700
    ev.ev(kill_s1, "output", spike, "TestBatch/07", "signal: killed\n")
    ev.ev(kill_s1 + 2, "output", spike, None, "FAIL\t%s\t0.700s\n" % spike)
    ev.ev(kill_s1 + 2, "fail", spike, elapsed=0.7)
    write("s1/a1/events.jsonl", ev.text())

    def s1a1_usage(dt):
        if dt < 3000:
            return int((24 + 126 * min(1.0, dt / 1800)) * MiB)
        if dt < 3200:
            return 40 * MiB
        return int(min(192, 50 + 320 * (dt - 3200) / 700) * MiB)
    write("s1/a1/memory.tsv", memory_tsv(s1a1, kill_s1 - 1, s1a1_usage, 192 * MiB))
    write("s1/a1/exec/%s.json" % escape(b), exec_record(b, s1a1 + 2995, s1a1 + 3011, 8 * MiB, exit_code=1, parallel=8))
    write("s1/a1/exec/%s.json" % escape(c), exec_record(c, s1a1 + 3045, s1a1 + 3061, 8 * MiB, parallel=8))
    write("s1/a1/exec/%s.json" % escape(spike),
          exec_record(spike, spike_start, kill_s1, 181 * MiB, signal=9, parallel=8))
    end_s1a1 = kill_s1 + 300
    write("s1/a1/result.json", result_json(s1a1, end_s1a1, 192 * MiB, 192 * MiB, [
        package_record(b, "fail", 0.011, 8 * MiB, failed=["TestSlugUnicode"]),
        package_record(c, "pass", 0.007, 8 * MiB),
        package_record(spike, "killed", None, 181 * MiB, running=running, signal=9, gc_peak=160 * MiB)], parallel=8))

    s1a2 = end_s1a1 + 2000
    ev = Events()
    spike_start2 = s1a2 + 900
    ev.ev(spike_start2, "start", spike)
    ev.ev(spike_start2 + 5, "run", spike, "TestBatch")
    ev.ev(spike_start2 + 5, "output", spike, "TestBatch", "=== RUN   TestBatch\n")
    for i in range(16):
        sub = "TestBatch/%02d" % i
        ev.ev(spike_start2 + 6, "run", spike, sub)
        ev.ev(spike_start2 + 6, "pause", spike, sub)
    for i in range(16):
        sub = "TestBatch/%02d" % i
        t = spike_start2 + 10 + (i // 2) * 310
        ev.ev(t, "cont", spike, sub)
        ev.ev(t + 300, "output", spike, sub, "--- PASS: %s (0.30s)\n" % sub)
        ev.ev(t + 300, "pass", spike, sub, elapsed=0.3)
    spike_end2 = spike_start2 + 10 + 8 * 310
    ev.ev(spike_end2, "output", spike, "TestBatch", "--- PASS: TestBatch (2.48s)\n")
    ev.ev(spike_end2, "pass", spike, "TestBatch", elapsed=2.48)
    ev.ev(spike_end2 + 5, "output", spike, None, "ok  \t%s\t2.491s\n" % spike)
    ev.ev(spike_end2 + 5, "pass", spike, elapsed=2.491)
    write("s1/a2/events.jsonl", ev.text())

    def s1a2_usage(dt):
        if dt < 900:
            return int((24 + 16 * dt / 900) * MiB)
        if dt > 900 + 10 + 8 * 310:
            return 40 * MiB
        # Two subtests of 40 MiB at a time, and the garbage between GCs.
        phase = ((dt - 910) % 620) / 620
        return int((50 + 80 + 35 * phase) * MiB)
    end_s1a2 = spike_end2 + 300
    write("s1/a2/memory.tsv", memory_tsv(s1a2, end_s1a2, s1a2_usage, 192 * MiB))
    write("s1/a2/exec/%s.json" % escape(spike), exec_record(spike, spike_start2 - 5, spike_end2 + 4, 165 * MiB))
    write("s1/a2/result.json", result_json(s1a2, end_s1a2, 192 * MiB, 170 * MiB, [
        package_record(spike, "pass", 2.491, 165 * MiB, gc_peak=120 * MiB)], exit_code=0))

    # ---- status.yaml ----
    def attempt(n, memory, outcome, start, finish, peak, parallel=2, killed=None, test=None, phase=None, msg=None):
        a = {"attempt": n, "memory": memory, "parallel": parallel, "p": 2, "outcome": outcome, "startTime": rfc3339(start), "finishTime": rfc3339(finish), "peakBytes": peak}
        if killed:
            a["killedPackage"] = killed
            a["runningTest"] = test
            a["phase"] = phase
        if msg:
            a["message"] = msg
        return a

    leak_summary = (leak + " was OOM-killed in shard 0 attempt 3 at 320Mi (maxMemory) while TestReports ran: "
                    "the live heap grew ~40 MiB per test and was never released. Memory was the change left for it "
                    "and it already had maxMemory, so as it runs now it needs more than 320Mi. "
                    "Tried: killed at 192Mi, killed at 288Mi, killed at 320Mi")
    status = {
        "phase": "Failed",
        "message": "2 of 5 package(s) failed: %s: tests failed; %s: does not fit in maxMemory 320Mi" % (b, leak),
        "startTime": rfc3339(BASE + 1000),
        "completionTime": rfc3339(end3 + 1000),
        "shardCount": 2, "attemptCount": 5, "oomKills": 4,
        "conditions": [{"type": "Succeeded", "status": "False", "reason": "PackagesFailed",
                        "message": "2 of 5 package(s) failed", "observedGeneration": 1,
                        "lastTransitionTime": rfc3339(end3 + 1000)}],
        "shards": [
            {"index": 0, "packages": [leak], "attempts": [
                {**attempt(1, "192Mi", "OOMKilled", s0a1, end1, 192 * MiB, killed=leak, test="TestPayments",
                           phase="test-run", msg="%s was OOM-killed while TestPayments ran" % leak), "pod": "ledger-s0-a1"},
                {**attempt(2, "288Mi", "OOMKilled", s0a2, end2, 288 * MiB, killed=leak, test="TestReports",
                           phase="test-run", msg="%s was OOM-killed while TestReports ran" % leak), "pod": "ledger-s0-a2"},
                {**attempt(3, "320Mi", "OOMKilled", s0a3, end3, 320 * MiB, killed=leak, test="TestReports",
                           phase="test-run", msg="the container was OOM-killed while %s ran TestReports" % leak),
                 "pod": "ledger-s0-a3"}]},
            {"index": 1, "packages": [spike], "attempts": [
                {**attempt(1, "192Mi", "OOMKilled", s1a1, end_s1a1, 192 * MiB, parallel=8, killed=spike,
                           test="TestBatch/07", phase="test-run",
                           msg="%s was OOM-killed with 8 parallel tests running" % spike), "pod": "ledger-s1-a1"},
                {**attempt(2, "192Mi", "Succeeded", s1a2, end_s1a2, 170 * MiB), "pod": "ledger-s1-a2"}]}],
        "packages": [
            {"package": a, "outcome": "Succeeded", "attempts": 1, "shard": 0, "peakBytes": 9 * MiB},
            {"package": b, "outcome": "TestsFailed", "attempts": 1, "shard": 1, "peakBytes": 8 * MiB},
            {"package": c, "outcome": "Succeeded", "attempts": 1, "shard": 1, "peakBytes": 8 * MiB},
            {"package": leak, "outcome": "OOMKilled", "attempts": 3, "shard": 0, "peakBytes": 306 * MiB},
            {"package": spike, "outcome": "Succeeded", "attempts": 2, "shard": 1, "peakBytes": 181 * MiB}],
        "diagnosis": [{
            "package": leak, "phase": "test-run", "cause": "LeakAcrossTests", "summary": leak_summary,
            "evidence": [
                "live heap after each test: 50, 90, 130, 170, 210, 250 MiB (TestOrders .. TestLedger): +40 MiB per test, none released",
                "gctrace: the heap goal doubled with the live heap; GC ran but found nothing to free",
                "killed at 192Mi in TestPayments, at 288Mi and at 320Mi in TestReports: each kill one step later",
                "top in-use allocation site: gotestrun.dev/fixtures/memory/leak.remember"],
            "action": "DoesNotFit"}],
        "retryLog": {
            a: [{"shard": 0, "attempt": 1, "memory": 192 * MiB, "parallel": 2, "p": 2, "result": "passed",
                 "phase": "unknown", "cause": "Unknown", "counted": True, "peak": 9 * MiB, "verdict": "Passed"}],
            b: [{"shard": 1, "attempt": 1, "memory": 192 * MiB, "parallel": 8, "p": 2, "result": "tests failed",
                 "phase": "unknown", "cause": "Unknown", "counted": True, "peak": 8 * MiB, "verdict": "TestsFailed"}],
            c: [{"shard": 1, "attempt": 1, "memory": 192 * MiB, "parallel": 8, "p": 2, "result": "passed",
                 "phase": "unknown", "cause": "Unknown", "counted": True, "peak": 8 * MiB, "verdict": "Passed"}],
            leak: [
                {"shard": 0, "attempt": 1, "memory": 192 * MiB, "parallel": 2, "p": 2, "result": "killed",
                 "phase": "test-run", "cause": "LeakAcrossTests", "counted": True, "peak": 178 * MiB},
                {"shard": 0, "attempt": 2, "memory": 288 * MiB, "parallel": 2, "p": 2, "result": "killed",
                 "phase": "test-run", "cause": "LeakAcrossTests", "counted": True, "peak": 274 * MiB},
                {"shard": 0, "attempt": 3, "memory": 320 * MiB, "parallel": 2, "p": 2, "result": "killed",
                 "phase": "test-run", "cause": "LeakAcrossTests", "counted": True, "peak": 306 * MiB,
                 "verdict": "DoesNotFit"}],
            spike: [
                {"shard": 1, "attempt": 1, "memory": 192 * MiB, "parallel": 8, "p": 2, "result": "killed",
                 "phase": "test-run", "cause": "ParallelSpike", "counted": True, "peak": 181 * MiB},
                {"shard": 1, "attempt": 2, "memory": 192 * MiB, "parallel": 2, "p": 2, "result": "passed",
                 "phase": "unknown", "cause": "Unknown", "counted": True, "peak": 165 * MiB, "verdict": "Passed"}]},
    }
    write("status.yaml", yaml.safe_dump(status, sort_keys=False, allow_unicode=True, width=120))


if __name__ == "__main__":
    main()
