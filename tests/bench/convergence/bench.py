#!/usr/bin/env python3
"""The convergence benchmark: how many attempts, OOM kills, seconds and reserved
GiB-seconds it takes each strategy to get a Go module's tests through when the first
memory limit is too low. run.sh builds the binaries and calls this; see README.md for
what each row means.

Every row of a suite is measured in the same invocation, on its own copy of the
module. The baselines run `go test` under a real memory cgroup limit through
convergence_cgroup_run (the project's sandbox); gotestrun's rows are read from its run
folder's status.yaml.
"""

import argparse
import concurrent.futures
import datetime
import json
import math
import os
import shutil
import subprocess
import sys
import time

import yaml

MIB = 1 << 20
GIB = 1 << 30

# Real modules, pinned. Each needs more than 256 MiB for its tests (its build
# included), runs without network, and finishes in a few minutes on 2 cores.
REAL_SUITES = {
    # name: (module, version, package patterns)
    # Measured here once, cold build cache, no limit: peak 772 MiB; 11 minutes on a
    # machine busy with other builds (the tables of unicode/norm and collate dominate).
    "text": ("golang.org/x/text", "v0.21.0", ["./unicode/...", "./collate/...", "./encoding/..."]),
    # The root package and roaring64 take 3-9 minutes each here: BitSliceIndexing
    # alone peaks at ~350 MiB with a warm build cache (80 s on the same busy machine).
    "roaring": ("github.com/RoaringBitmap/roaring", "v1.9.4", ["./BitSliceIndexing/..."]),
}
FIXTURES = {"memory": "tests/fixtures/memory", "service": "tests/fixtures/service"}
ROWS = ["a", "b", "c", "d", "e", "f", "g"]
ROW_NAMES = {
    "a": "(a) same limit, rerun",
    "b": "(b) double the job",
    "c": "(c) oracle, per package",
    "d": "(d) gotestrun, cold",
    "e": "(e) gotestrun, history",
    "f": "(f) operator, cold",
    "g": "(g) operator, history",
}
# What each fixture package's first kill must be named (their READMEs' tables): a
# set when the fixture allows either. Every package not listed is clean and must get
# no cause at all.
EXPECTED_CAUSES = {
    "memory": {
        "leak": {"LeakAcrossTests"},
        "parallelspike": {"ParallelSpike"},
        "largetest": {"LargeTest"},
        "goroutineleak": {"GoroutineLeak"},
        "nativemem": {"NativeMemory"},
        "initmem": {"InitMemory"},
        "gcheadroom": {"GCHeadroom"},
        "compileheavy": {"BuildMemory"},
        "stall": {"LargeTest", "GCHeadroom"},
        # Never killed at 256Mi; under less its 160 MiB live heap alone is the test's.
        "touchlimit": {"LargeTest"},
    },
    "service": {
        "internal/cache": {"LeakAcrossTests", "ParallelSpike"},
        "internal/search": {"LargeTest"},
        "internal/jobs": {"GoroutineLeak"},
        "internal/geo": {"BuildMemory"},
    },
}

# The operator rows run the fixture suites only: the real modules' dependencies are in
# the benchmark's module cache, which the test node's Pods are not given.
OPERATOR_ROWS = ("f", "g")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args):
        self.args = args
        self.root = os.path.abspath(args.root)
        self.build = os.path.abspath(args.build)
        self.cache = os.path.abspath(args.cache)
        self.tool = os.path.join(self.build, "tests/bench/convergence/convergence_cgroup_run")
        self.gotestrun = os.path.join(self.build, "cli/gotestrun")
        self.agent = os.path.join(self.build, "agent/gotestrun-agent")
        self.operator = os.path.join(self.build, "operator/gotestrun-operator")
        self.operator_run = os.path.join(self.build, "tests/bench/convergence/convergence_operator_run")
        self.gomodcache = os.path.join(self.cache, "gomod")
        self.start_mib = args.start_mib
        self.cap_mib = args.cap_mib
        self.seq = 0

    # ---- helpers ----

    def env(self, gocache):
        e = dict(os.environ)
        e.update({
            "GOFLAGS": "-mod=mod",
            "GOTOOLCHAIN": "local",
            "GOCACHE": gocache,
            "GOMODCACHE": self.gomodcache,
            # Modules come from the cache filled before the runs; a run never downloads.
            "GOPROXY": "off",
        })
        return e

    def fresh_gocache(self, work):
        self.seq += 1
        d = os.path.join(work, f"gocache-{self.seq}")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    def go_test_argv(self, patterns):
        argv = ["go", "test", "-count=1"]
        if self.args.parallel:
            argv.append(f"-parallel={self.args.parallel}")
        return argv + patterns

    def cg_run(self, limit_mib, cwd, gocache, argv, logfile):
        """One command tree under a memory cgroup limit; the tool's JSON line."""
        cmd = [self.tool, "--limit-mib", str(limit_mib), "--dir", cwd, "--log", logfile,
               "--stall-after-s", str(self.args.stall_after_s), "--timeout-s", str(self.args.timeout_s)]
        for k in ("GOFLAGS", "GOTOOLCHAIN", "GOCACHE", "GOMODCACHE", "GOPROXY"):
            cmd += ["--env", f"{k}={self.env(gocache)[k]}"]
        out = subprocess.run(cmd + ["--"] + argv, capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        if r["enforcement"] == "rss watch":
            sys.exit("no memory cgroup could be made: " + r["enforcement_note"])
        r["passed"] = r["exit_code"] == 0 and not r["oom_killed"] and not r["memory_stall"] and not r["timed_out"]
        return r

    # ---- suites ----

    def prepare_source(self, suite):
        """The pristine module folder of a suite (downloaded for a real one)."""
        if suite in FIXTURES:
            return os.path.join(self.root, FIXTURES[suite])
        module, version, _ = REAL_SUITES[suite]
        e = self.env(os.path.join(self.cache, "gocache-download"))
        e["GOPROXY"] = os.environ.get("GOPROXY", "https://proxy.golang.org,direct")
        os.makedirs(self.cache, exist_ok=True)
        out = subprocess.run(["go", "mod", "download", "-json", f"{module}@{version}"], cwd=self.cache,
                             env=e, capture_output=True, text=True, check=True)
        src = json.loads(out.stdout)["Dir"]
        # Its dependencies too, so that no measured run touches the network.
        subprocess.run(["go", "mod", "download", "all"], cwd=src, env=e, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["go", "list", "-deps", "-test", "./..."], cwd=src, env=e, check=True,
                       stdout=subprocess.DEVNULL)
        return src

    def patterns(self, suite):
        return REAL_SUITES[suite][2] if suite in REAL_SUITES else ["./..."]

    def copy_module(self, src, dst):
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".gotestrun"))
        for d, _, files in os.walk(dst):
            os.chmod(d, 0o755)
            for f in files:
                p = os.path.join(d, f)
                if not os.path.islink(p):
                    os.chmod(p, 0o644 | (os.stat(p).st_mode & 0o111))

    # ---- rows ----

    def whole_job(self, work, patterns, limits):
        """(a) and (b): the whole `go test` in one cgroup, a fresh build cache per attempt
        (a fresh Pod), one attempt per limit until one passes."""
        attempts = []
        t0 = time.time()
        for i, limit in enumerate(limits):
            r = self.cg_run(limit, work, self.fresh_gocache(os.path.dirname(work)), self.go_test_argv(patterns),
                            os.path.join(os.path.dirname(work), f"attempt-{i + 1}.log"))
            log(f"    attempt {i + 1} at {limit}Mi: {'passed' if r['passed'] else 'failed'}"
                f" (oom kills {r['oom_kills']}, stall {r['memory_stall']}, exit {r['exit_code']}/{r['signal']},"
                f" peak {r['peak_bytes'] / MIB:.0f}Mi, {r['wall_s']:.1f}s)")
            attempts.append(r)
            if r["passed"]:
                break
        wall = time.time() - t0
        return {
            "passed": attempts[-1]["passed"],
            "attempts": len(attempts),
            "oom_kills": sum(1 for r in attempts if r["oom_killed"]),
            "stalls": sum(1 for r in attempts if r["memory_stall"]),
            "rounds": len(attempts),
            "wall_s": wall,
            "gib_s": sum(r["limit_bytes"] / GIB * r["wall_s"] for r in attempts),
            "detail": [{k: r[k] for k in ("limit_bytes", "peak_bytes", "oom_kills", "memory_stall", "exit_code",
                                           "wall_s")} for r in attempts],
        }

    def list_packages(self, work, patterns, gocache):
        out = subprocess.run(
            ["go", "list", "-f", "{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}"] + patterns,
            cwd=work, env=self.env(gocache), capture_output=True, text=True, check=True)
        return [p for p in out.stdout.split() if p]

    def per_package(self, work, packages, limit_of, tag):
        """Runs every package alone in its own cgroup, `--oracle-jobs` at a time, with
        one build cache shared by the round (started empty). Returns the results by
        package, in the order run."""
        gocache = self.fresh_gocache(os.path.dirname(work))
        logs = os.path.join(os.path.dirname(work), tag)
        os.makedirs(logs, exist_ok=True)

        def one(pkg):
            lf = os.path.join(logs, pkg.replace("/", "_") + ".log")
            return pkg, self.cg_run(limit_of(pkg), work, gocache, self.go_test_argv([pkg]), lf)

        with concurrent.futures.ThreadPoolExecutor(self.args.oracle_jobs) as pool:
            return dict(pool.map(one, packages))

    def oracle(self, work, patterns):
        """(c): a measuring pass (every package alone, no limit, in the same schedule and
        with the same build-cache state as the round), then one round with each package
        at its peak x 1.2. A package the round still OOM-kills gets twice its limit."""
        packages = self.list_packages(work, patterns, self.fresh_gocache(os.path.dirname(work)))
        t0 = time.time()
        measured = self.per_package(work, packages, lambda p: 0, "measure")
        measure_s = time.time() - t0
        failed = [p for p, r in measured.items() if not r["passed"]]
        if failed:
            log(f"    measuring pass: {len(failed)} packages fail even without a limit: {failed[:5]}")
        peaks = {p: r["peak_bytes"] for p, r in measured.items()}
        limits = {p: max(16, math.ceil(peaks[p] * self.args.oracle_margin / MIB)) for p in packages}
        log(f"    measured {len(packages)} packages in {measure_s:.0f}s; largest peaks: " + ", ".join(
            f"{p.rsplit('/', 1)[-1]} {peaks[p] / MIB:.0f}Mi" for p in sorted(peaks, key=peaks.get, reverse=True)[:4]))
        attempts, tries, last = [], {p: 0 for p in packages}, {}
        todo = packages
        t0 = time.time()
        while todo:
            results = self.per_package(work, todo, lambda p: limits[p], f"round-{max(tries.values()) + 1}")
            todo = []
            for p, r in results.items():
                tries[p] += 1
                last[p] = r
                attempts.append(r)
                if not r["passed"] and r["oom_killed"] and limits[p] < self.cap_mib:
                    limits[p] = min(self.cap_mib, limits[p] * 2)
                    todo.append(p)
        wall = time.time() - t0
        return {
            "passed": bool(packages) and all(r["passed"] for r in last.values()),
            "attempts": len(attempts),
            "oom_kills": sum(1 for r in attempts if r["oom_killed"]),
            "stalls": sum(1 for r in attempts if r["memory_stall"]),
            "rounds": max(tries.values()) if tries else 0,
            "wall_s": wall,
            "gib_s": sum(r["limit_bytes"] / GIB * r["wall_s"] for r in attempts),
            "measure_s": measure_s,
            "peaks_mib": {p: round(v / MIB) for p, v in peaks.items()},
        }

    def gotestrun_run(self, work, patterns, out, gocache):
        """(d) and (e): one `gotestrun run`; its figures from the run folder's status.yaml."""
        shutil.rmtree(out, ignore_errors=True)
        argv = [self.gotestrun, "run"] + patterns + [
            "--module-dir", work, "--memory", f"{self.start_mib}Mi", "--max-memory", f"{self.cap_mib}Mi",
            "--agent", self.agent, "--out", out]
        if self.args.parallel:
            argv += ["--parallel", str(self.args.parallel)]
        t0 = time.time()
        with open(out + ".log", "w") as f:
            rc = subprocess.run(argv, cwd=work, env=self.env(gocache), stdout=f, stderr=subprocess.STDOUT).returncode
        wall = time.time() - t0
        with open(os.path.join(out, "status.yaml")) as f:
            status = yaml.safe_load(f)
        attempts = [a for s in status.get("shards", []) for a in s.get("attempts", [])]
        gib_s = 0.0
        for a in attempts:
            secs = (rfc3339(a["finishTime"]) - rfc3339(a["startTime"])) if a.get("finishTime") else 0.0
            gib_s += quantity_bytes(a["memory"]) / GIB * secs
        per_pkg = [p.get("attempts", 0) for p in status.get("packages", [])]
        log(f"    gotestrun exited {rc}: phase {status.get('phase')}, {len(attempts)} attempts, "
            f"{sum(1 for a in attempts if a.get('outcome') == 'OOMKilled')} OOM-killed, {wall:.1f}s")
        return {
            "passed": rc == 0 and status.get("phase") == "Succeeded",
            "attempts": len(attempts),
            "oom_kills": sum(1 for a in attempts if a.get("outcome") == "OOMKilled"),
            "stalls": sum(1 for a in attempts if "stall" in (a.get("message") or "").lower()),
            "rounds": max(per_pkg) if per_pkg else 0,
            "wall_s": wall,
            "gib_s": gib_s,
            "status_oom_kills": status.get("oomKills"),
            "status_wall_s": rfc3339(status["completionTime"]) - rfc3339(status["startTime"])
            if status.get("completionTime") else None,
        }

    def operator_rows(self, work, rows):
        """(f) and (g): the module through the operator on the test control plane and
        the test node (convergence_operator_run): a cold run, then one planned from the
        history the first left in its ConfigMap. The Pods of each run share a fresh
        GOCACHE, as (d)'s and (e)'s attempts do (--operator-pod-cache: each Pod builds in
        its own empty home, as in a cluster)."""
        argv = [self.operator_run, self.operator, self.agent, os.path.join(self.root, "crds"), work,
                "--memory", f"{self.start_mib}Mi", "--max-memory", f"{self.cap_mib}Mi",
                "--parallel", str(self.args.parallel), "--runs", "2" if "g" in rows else "1"]
        if not self.args.operator_pod_cache:
            argv += ["--gocache-root", os.path.join(os.path.dirname(work), "gocache")]
        with open(os.path.join(os.path.dirname(work), "operator-run.log"), "w") as err:
            out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=err, text=True)
        lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        if out.returncode != 0 or not lines:
            log(f"    convergence_operator_run failed (exit {out.returncode}); see {os.path.dirname(work)}/operator-run.log")
        results = {}
        for row, r in zip(("f", "g"), lines):
            log(f"    operator run {r['run']}: phase {r['phase']}, {r['attempts']} attempts, {r['oom_kills']} OOM-killed, "
                f"{r['wall_s']:.1f}s")
            results[row] = {k: v for k, v in r.items() if k not in ("run", "phase", "message")}
        return results

    def first_causes(self, status, module):
        """Per package, the cause named at its first kill (or stall): the retry log's
        entry, or the diagnosis of that attempt when the package was one of several
        binaries running at a container kill. A shard's build kill (nobody charged,
        BuildMemory on every package of the shard) names no package."""
        by_attempt = {}
        for d in status.get("diagnosis") or []:
            by_attempt.setdefault((d.get("package"), d.get("attempt", "")), d.get("cause"))
        out = {}
        for pkg, entries in (status.get("retryLog") or {}).items():
            short = pkg[len(module) + 1:] if pkg.startswith(module + "/") else pkg
            for e in entries:
                if e.get("result") == "no result" and e.get("cause") == "BuildMemory":
                    continue  # the shard's build, not this package
                suffix = f"-s{e.get('shard')}-a{e.get('attempt')}"
                diagnosed = [c for (p, a), c in by_attempt.items() if p == pkg and a.endswith(suffix)]
                if e.get("result") in ("killed", "build killed") or e.get("cause", "Unknown") != "Unknown":
                    out[short] = e.get("cause") if e.get("cause", "Unknown") != "Unknown" or not diagnosed \
                        else diagnosed[0]
                    break
                if diagnosed:
                    out[short] = diagnosed[0]
                    break
        return out

    def accuracy(self, suite, limits):
        """Is the first cause named for each killed package the right one, at several
        starting limits? One cold `gotestrun run` per limit, on a fresh module copy."""
        src = self.prepare_source(suite)
        module = self.module_path(src)
        rows = []
        for limit in limits:
            base = os.path.join(self.cache, "work", suite, f"accuracy-{limit}")
            work = os.path.join(base, "module")
            self.copy_module(src, work)
            log(f"  first causes from {limit}Mi")
            # The build cache is filled first, outside any limit, with everything but the
            # packages whose own compile is their pathology: otherwise the first kills
            # at a low limit are the shard's build of the standard library, which names
            # no package, and the tests' causes are never put to the test.
            gocache = self.fresh_gocache(base)
            packages = self.list_packages(work, self.patterns(suite), gocache)
            expected = EXPECTED_CAUSES.get(suite, {})
            warm = [p for p in packages if expected.get(p[len(module) + 1:]) != {"BuildMemory"}]
            subprocess.run(["go", "test", "-count=1", "-run", "^$"] + warm, cwd=work, env=self.env(gocache),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            start = self.start_mib
            self.start_mib = limit
            try:
                self.gotestrun_run(work, self.patterns(suite), os.path.join(base, "run"), gocache)
            finally:
                self.start_mib = start
            with open(os.path.join(base, "run", "status.yaml")) as f:
                status = yaml.safe_load(f)
            named = self.first_causes(status, module)
            for pkg in sorted(set(named) | set(expected)):
                want = expected.get(pkg)
                got = named.get(pkg)
                if got is None:
                    verdict = "not killed"
                elif want is None:
                    verdict = "WRONG (clean package given a cause)"
                else:
                    verdict = "right" if got in want else "WRONG"
                rows.append((suite, limit, pkg, " or ".join(sorted(want)) if want else "none", got or "-", verdict))
        return rows

    def module_path(self, src):
        with open(os.path.join(src, "go.mod")) as f:
            for line in f:
                if line.startswith("module "):
                    return line.split()[1]
        return ""

    def suite(self, suite, rows):
        log(f"suite {suite}")
        src = self.prepare_source(suite)
        patterns = self.patterns(suite)
        base = os.path.join(self.cache, "work", suite)
        shutil.rmtree(base, ignore_errors=True)
        results = {}
        for row in rows:
            if row in OPERATOR_ROWS:
                if suite not in FIXTURES or row == "g":
                    continue  # fixture suites only; (g) comes with (f)
                rowdir = os.path.join(base, "f")
                self.copy_module(src, os.path.join(rowdir, "module"))
                log(f"  {ROW_NAMES['f']}" + (f", then {ROW_NAMES['g']}" if "g" in rows else ""))
                for r, res in self.operator_rows(os.path.join(rowdir, "module"), rows).items():
                    results[r] = res
                    log(f"    -> {json.dumps(res)}")
                    print(json.dumps({"suite": suite, "row": r, **res}), file=self.jsonl, flush=True)
                continue
            rowdir = os.path.join(base, row if row != "e" else "d")
            work = os.path.join(rowdir, "module")
            if row != "e":
                self.copy_module(src, work)
            log(f"  {ROW_NAMES[row]}")
            if row == "a":
                results[row] = self.whole_job(work, patterns, [self.start_mib] * self.args.same_attempts)
            elif row == "b":
                limits, m = [], self.start_mib
                while m < self.cap_mib:
                    limits.append(m)
                    m *= 2
                results[row] = self.whole_job(work, patterns, limits + [self.cap_mib])
            elif row == "c":
                results[row] = self.oracle(work, patterns)
            else:
                # (e) reuses (d)'s module copy, and so the history (d) left in it
                # (MODULE/.gotestrun/history/); each run starts from an empty build cache.
                results[row] = self.gotestrun_run(work, patterns, os.path.join(rowdir, f"run-{row}"),
                                                  self.fresh_gocache(rowdir))
            log(f"    -> {json.dumps({k: v for k, v in results[row].items() if k not in ('detail', 'peaks_mib')})}")
            print(json.dumps({"suite": suite, "row": row, **results[row]}), file=self.jsonl, flush=True)
        return results


def rfc3339(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def quantity_bytes(q):
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "k": 10**3, "M": 10**6, "G": 10**9}
    for u, f in units.items():
        if q.endswith(u):
            return float(q[: -len(u)]) * f
    return float(q)


def table(all_results, suites, rows):
    head = ["suite", "row", "passed", "attempts", "OOM kills", "rounds", "wall s", "GiB-s", "GiB-s / (b)",
            "GiB-s / (c)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in suites:
        res = all_results.get(s, {})
        for row in rows:
            r = res.get(row)
            if r is None:
                continue
            b, c = res.get("b"), res.get("c")
            ratio = lambda ref: f"{r['gib_s'] / ref['gib_s']:.2f}" if ref and ref["gib_s"] > 0 else "-"
            kills = str(r["oom_kills"]) + (f" (+{r['stalls']} stalls)" if r.get("stalls") else "")
            lines.append("| " + " | ".join([
                s, ROW_NAMES[row], "yes" if r["passed"] else "no", str(r["attempts"]), kills, str(r["rounds"]),
                f"{r['wall_s']:.0f}", f"{r['gib_s']:.1f}", ratio(b), ratio(c)]) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--suites", default="memory,service," + ",".join(REAL_SUITES))
    ap.add_argument("--rows", default="a,b,c,d,e,f,g")
    ap.add_argument("--accuracy", default="",
                    help="also, for the fixture suites: the first cause named per package from these starting "
                         "limits in MiB, e.g. 192,256,384")
    ap.add_argument("--operator-pod-cache", action="store_true",
                    help="rows (f) and (g): each Pod builds in its own empty GOCACHE, as in a cluster")
    ap.add_argument("--start-mib", type=int, default=256)
    ap.add_argument("--cap-mib", type=int, default=2048)
    ap.add_argument("--same-attempts", type=int, default=3, help="attempts of row (a)")
    ap.add_argument("--parallel", type=int, default=16, help="go test -parallel in every row (0: go's default)")
    ap.add_argument("--oracle-margin", type=float, default=1.2)
    ap.add_argument("--oracle-jobs", type=int, default=2, help="packages the oracle runs at once")
    ap.add_argument("--stall-after-s", type=int, default=10)
    ap.add_argument("--timeout-s", type=int, default=900, help="per baseline attempt")
    ap.add_argument("--json", help="also write one JSON line per row here")
    args = ap.parse_args()
    suites = [s for s in args.suites.split(",") if s]
    rows = [r for r in args.rows.split(",") if r]
    for s in suites:
        if s not in FIXTURES and s not in REAL_SUITES:
            sys.exit(f"unknown suite {s}; known: {', '.join(list(FIXTURES) + list(REAL_SUITES))}")
    for r in rows:
        if r not in ROWS:
            sys.exit(f"unknown row {r}; known: {','.join(ROWS)}")
    if "g" in rows and "f" not in rows:
        sys.exit("row g plans from row f's history: ask for f too")
    if "e" in rows and "d" not in rows:
        sys.exit("row e plans from row d's history: ask for d too")
    bench = Bench(args)
    os.makedirs(args.cache, exist_ok=True)
    bench.jsonl = open(args.json or os.path.join(args.cache, "last-run.jsonl"), "w")
    t0 = time.time()
    results = {}
    for s in suites:
        results[s] = bench.suite(s, rows)
    accuracy = []
    for s in suites:
        if args.accuracy and s in FIXTURES:
            log(f"suite {s}: first causes")
            accuracy += bench.accuracy(s, [int(x) for x in args.accuracy.split(",") if x])
    total = time.time() - t0
    go = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    print(f"Convergence from {args.start_mib}Mi (cap {args.cap_mib}Mi, -parallel {args.parallel or 'default'}); "
          f"{go}; {os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d')}")
    print()
    print(table(results, suites, rows))
    print()
    if accuracy:
        print("| suite | start | package | expected first cause | named | verdict |")
        print("|---|---|---|---|---|---|")
        for suite, limit, pkg, want, got, verdict in accuracy:
            print(f"| {suite} | {limit}Mi | {pkg} | {want} | {got} | {verdict} |")
        killed = [r for r in accuracy if r[4] != "-" and r[3] != "none"]
        wrong_clean = [r for r in accuracy if r[3] == "none" and r[4] != "-"]
        print()
        print(f"First cause right for {sum(1 for r in killed if r[5] == 'right')} of {len(killed)} killed "
              f"packages; clean packages given a cause: {len(wrong_clean)}.")
        print()
    print(f"Whole benchmark: {total:.0f} s.")


if __name__ == "__main__":
    main()
