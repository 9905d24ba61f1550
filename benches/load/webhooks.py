#!/usr/bin/env python3
"""Partner webhook benchmark (BENCH.md "Other figures": durable webhook intake vs plain
forwarding; redis-backed limiter vs the local limiter).

Two release switchyard processes (`workers: 1`) with the same config but for
`state.backend` — `local` and `redis` (a redis-server this script starts on a free loopback
port) — in front of the harness's nginx origin (`return 200 "ok\\n"`). Each has three partners
on one `webhooks: true` route; all verify an API key (`X-Api-Key`; a Standard Webhooks HMAC
cannot be computed per request inside wrk's Lua, and a fixed signature would fail the ±300 s
timestamp window), accept `application/json` only and check that the 512-byte body is JSON:

  plain     /hooks/plain/    no rate limit, on_limit reject: verified, then forwarded (200).
  durable   /hooks/durable/  rate 1/h burst 1, on_limit queue: every request (after the first)
                             is over the rate, so it is appended to the spool, fdatasync'd
                             (group commit) and answered 202; the spool delivers 1 per hour.
  limited   /hooks/limited/  rate 1000000/s burst 1000000, on_limit reject: admits everything,
                             so the figure is the cost of the limiter decision itself.

Subjects, interleaved round by round (A B C D A B C D …): plain, durable (local process),
limiter-redis (`limited` on the redis process), limiter-local (`limited` on the local process).
Each: wrk warm-up, then a measured run (`-t1 -c50`, ≤ 15 s) POSTing the signed-by-key JSON.
Reports requests/s (median over rounds), p50/p99, the proxy's CPU µs per request, and the
ratios durable / plain (goal ≥ 0.5) and limiter-redis / limiter-local (goal ≥ 0.7), both from
the medians and per round. Cross-checks: every durable request must have grown the spool (202),
and redis must have answered the limiter (its EVALSHA count vs requests: a shortfall means the
proxy failed open to its local bucket). Writes the "Partner webhooks" section of
benches/RESULTS.md (replacing only that section). Loopback only; every process it starts is
stopped at the end. Python 3.11 standard library only; reuses run.py's helpers.

    cargo build --release -p switchyard
    python3 benches/load/webhooks.py                    # 3 rounds x (2 s warm-up + 10 s)
    python3 benches/load/webhooks.py --rounds 1 --duration 3 --subjects plain,durable
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (the load harness: process, port, /proc and wrk helpers)

REPO = run.REPO
SECTION = "## Partner webhooks"
ALL_SUBJECTS = ["plain", "durable", "limiter-redis", "limiter-local"]
API_KEY = "bench-partner-key-0123456789abcdef"
ADMIN_TOKEN = "bench-viewer-token-0123456789"
HOST = "hooks.bench"
# (process, path) per subject
TARGETS = {
    "plain": ("local", "/hooks/plain/events"),
    "durable": ("local", "/hooks/durable/events"),
    "limiter-redis": ("redis", "/hooks/limited/events"),
    "limiter-local": ("local", "/hooks/limited/events"),
}


def body_512() -> bytes:
    """A carrier-event-like JSON body of exactly 512 bytes."""
    head = ('{"type":"shipment.delivered","shipment":"JD014600006103","carrier":"dhl",'
            '"occurred_at":"2026-11-27T12:00:00Z","location":{"city":"Chicago","country":"US"},'
            '"pad":"')
    tail = '"}'
    return (head + "x" * (512 - len(head) - len(tail)) + tail).encode()


BODY = body_512()


def lua_script() -> str:
    return f"""-- written by benches/load/webhooks.py
wrk.method = "POST"
wrk.body = [[{BODY.decode()}]]
wrk.headers["Host"] = "{HOST}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Api-Key"] = "{API_KEY}"
"""


def config(port: int, admin: int, origin: int, data: Path, backend: str, redis_port: int,
           redis_timeout: str) -> str:
    redis = (f', redis: {{ url: "redis://127.0.0.1:{redis_port}/0", prefix: "bench:", '
             f'timeout: {redis_timeout} }}' if backend == "redis" else "")
    partner = """  {name}:
    match: {{ path_prefix: /hooks/{name}/ }}
    verify: {{ api_key: {{ header: X-Api-Key, keys: [{{ env: BENCH_WEBHOOK_KEY }}] }} }}
    body: {{ max: 64KiB, content_types: [application/json] }}
{extra}"""
    partners = "".join(partner.format(name=n, extra=e) for n, e in [
        ("plain", "    on_limit: reject\n"),
        ("durable", "    rate: { limit: 1/h, burst: 1 }\n    on_limit: queue\n"),
        ("limited", "    rate: { limit: 1000000/s, burst: 1000000 }\n    on_limit: reject\n"),
    ])
    return f"""server:
  listen: 127.0.0.1:{port}
  workers: 1
admin:
  listen: 127.0.0.1:{admin}
  tokens: [{{ name: bench, role: viewer, token: {{ env: BENCH_ADMIN_TOKEN }} }}]
state: {{ backend: {backend}, data_dir: "{data}"{redis} }}
pools:
  origin: {{ endpoints: ["http://127.0.0.1:{origin}"] }}
routes:
  - name: hooks
    match: {{ path_prefix: /hooks/ }}
    upstream: {{ stable: origin }}
    webhooks: true
partners:
{partners}spool: {{ max_bytes: 8GiB }}
observability:
  access_log: {{ to: "off" }}
"""


def post(port: int, path: str) -> tuple[int, bytes]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("POST", path, body=BODY, headers={
            "Host": HOST, "Content-Type": "application/json", "X-Api-Key": API_KEY})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def metrics(admin: int) -> dict[str, float]:
    c = http.client.HTTPConnection("127.0.0.1", admin, timeout=5)
    try:
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode(errors="replace")
    finally:
        c.close()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


def metric(m: dict[str, float], name: str, **labels: str) -> float:
    """The sum of series `name` whose labels include `labels` (label order does not matter)."""
    total = 0.0
    for series, value in m.items():
        base, _, rest = series.partition("{")
        if base != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', rest))
        if all(have.get(k) == v for k, v in labels.items()):
            total += value
    return total


def spool_depth(admin: int) -> int:
    """The durable partner's queue depth, live from `GET /api/v1/spool`."""
    c = http.client.HTTPConnection("127.0.0.1", admin, timeout=5)
    try:
        c.request("GET", "/api/v1/spool", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"GET /api/v1/spool: {r.status} {body[:200]!r}")
    finally:
        c.close()
    for q in json.loads(body)["partners"]:
        if q["partner"] == "durable":
            return int(q["depth"])
    return 0


def redis_evalsha_calls(port: int) -> int:
    """`cmdstat_evalsha` calls from INFO commandstats (a raw RESP exchange)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            m = re.match(rb"\$(\d+)\r\n", data)
            if m and len(data) >= m.end() + int(m.group(1)):
                break
    total = 0
    for cmd in (b"evalsha", b"eval", b"fcall"):
        m = re.search(rb"cmdstat_" + cmd + rb":calls=(\d+)", data)
        total += int(m.group(1)) if m else 0
    return total


def busy_ticks() -> int:
    """Busy CPU time of the whole machine (all CPUs), in clock ticks."""
    v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)


def own_ticks(*pids: int) -> int:
    """CPU of our long-running processes plus our own and our waited-for children's (wrk)."""
    t = os.times()
    mine = (t.user + t.system + t.children_user + t.children_system) * run.CLK_TCK
    return int(mine) + sum(run.cpu_ticks(p) for p in pids)


class Bench:
    def __init__(self, a: argparse.Namespace) -> None:
        self.a = a
        self.procs = run.Procs()
        self.ports: set[int] = set()
        # On the machine's disk (not tmpfs): the spool's fdatasync must be real.
        base = Path(a.tmp_dir) if a.tmp_dir else None
        self.tmp = Path(tempfile.mkdtemp(prefix="switchyard-webhooks-", dir=base))
        self.nproc = os.cpu_count() or 1
        self.taskset = run.which("taskset")
        self.pin = self.taskset is not None and self.nproc >= 2 and not a.no_pin
        p = Path(os.environ.get("SWITCHYARD_BIN", "target/release/switchyard"))
        self.bin = str(p if p.is_absolute() else REPO / p)
        self.wrk = run.which("wrk")
        self.results: dict[str, list[dict]] = {s: [] for s in a.subjects}
        self.cmds: dict[str, str] = {}
        self.sy: dict[str, dict] = {}

    def pinned(self, cmd: list[str], cpu: str) -> list[str]:
        return [self.taskset, "-c", cpu, *cmd] if self.pin else cmd

    def build_note(self) -> str:
        """When the binary was built and the commit checked out (the tree may be ahead)."""
        built = dt.datetime.fromtimestamp(os.path.getmtime(self.bin), dt.timezone.utc)
        try:
            head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                  capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            head = ""
        return f"binary built {built:%Y-%m-%d %H:%M} UTC" + (f", HEAD {head}" if head else "")

    # -- processes
    def start(self) -> None:
        if not os.access(self.bin, os.X_OK):
            raise SystemExit(f"no switchyard binary at {self.bin}: "
                             "cargo build --release -p switchyard (or set SWITCHYARD_BIN)")
        if not self.wrk:
            raise SystemExit("wrk not found: ./scripts/install-test-deps.sh wrk haproxy")
        nginx = run.which("nginx")
        if not nginx:
            raise SystemExit("nginx not found (the origin): ./scripts/install-test-deps.sh")
        a = self.a
        d = self.tmp / "origin"
        (d / "tmp").mkdir(parents=True)
        self.origin_port = run.free_port(self.ports)
        (d / "nginx.conf").write_text(run.nginx_conf(d, f"""    server {{
        listen 127.0.0.1:{self.origin_port} backlog=4096;
        location / {{ return 200 "ok\\n"; }}
    }}"""))
        ocmd = self.pinned(run.nginx_cmd(nginx, d), a.subject_cpu)
        self.cmds["origin (nginx, worker_processes 1)"] = shlex.join(ocmd)
        self.origin = self.procs.start("origin", ocmd, None, d / "stdout.log")
        run.wait_http(self.origin, self.origin_port, "/", b"ok\n", d / "error.log")

        need_redis = any(TARGETS[s][0] == "redis" for s in a.subjects)
        self.redis_port = 0
        if need_redis:
            redis = run.which("redis-server")
            if not redis:
                raise SystemExit("redis-server not found: ./scripts/install-test-deps.sh")
            self.redis_port = run.free_port(self.ports)
            rd = self.tmp / "redis"
            rd.mkdir()
            rcmd = self.pinned([redis, "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", str(rd),
                                "--protected-mode", "no"], a.redis_cpu)
            self.cmds["redis-server"] = shlex.join(rcmd)
            self.redis = self.procs.start("redis", rcmd, None, rd / "stdout.log")
            t_end = time.monotonic() + 10
            while True:
                try:
                    redis_evalsha_calls(self.redis_port)
                    break
                except OSError:
                    if time.monotonic() > t_end or self.redis.poll() is not None:
                        raise RuntimeError("redis-server did not start:\n"
                                           + run.tail(rd / "stdout.log"))
                    time.sleep(0.05)

        env = dict(os.environ, BENCH_WEBHOOK_KEY=API_KEY, BENCH_ADMIN_TOKEN=ADMIN_TOKEN)
        for backend in sorted({TARGETS[s][0] for s in a.subjects}):
            d = self.tmp / f"switchyard-{backend}"
            (d / "data").mkdir(parents=True)
            port, admin = run.free_port(self.ports), run.free_port(self.ports)
            cfg = config(port, admin, self.origin_port, d / "data", backend, self.redis_port,
                         a.redis_timeout)
            (d / "switchyard.yaml").write_text(cfg)
            cmd = self.pinned([self.bin, "run", "--config", str(d / "switchyard.yaml")],
                              a.subject_cpu)
            self.cmds[f"switchyard ({backend} backend)"] = shlex.join(cmd)
            proc = self.procs.start(f"switchyard-{backend}", cmd, env, d / "stdout.log")
            run.wait_http(proc, admin, "/readyz", None, d / "stdout.log", 30)
            self.sy[backend] = {"proc": proc, "port": port, "admin": admin, "config": cfg,
                                "log": d / "stdout.log"}
        # Every subject answers as it should before anything is measured.
        want = {"plain": 200, "durable": 202, "limiter-redis": 200, "limiter-local": 200}
        for s in a.subjects:
            backend, path = TARGETS[s]
            if s == "durable":  # the burst of 1 passes (forwarded); the rest is spooled
                post(self.sy[backend]["port"], path)
            status, body = post(self.sy[backend]["port"], path)
            if status != want[s]:
                raise SystemExit(f"{s}: {status} {body[:300]!r} (want {want[s]})\n"
                                 + run.tail(self.sy[backend]["log"]))
        (self.tmp / "post.lua").write_text(lua_script())
        run.log(f"origin :{self.origin_port}" + (f", redis :{self.redis_port}" if need_redis
                                                  else "") + ", switchyard "
                + ", ".join(f"{b} :{v['port']} (admin :{v['admin']})" for b, v in self.sy.items()))

    # -- load
    def wrk_cmd(self, port: int, path: str, seconds: float) -> list[str]:
        a = self.a
        return self.pinned([self.wrk, f"-t{a.threads}", f"-c{a.connections}", f"-d{seconds:g}s",
                            "--latency", "-s", str(self.tmp / "post.lua"),
                            f"http://127.0.0.1:{port}{path}"], a.load_cpu)

    def run_wrk(self, port: int, path: str, seconds: float) -> str:
        out = self.tmp / "wrk.out"
        p = self.procs.start("wrk", self.wrk_cmd(port, path, seconds), None, out)
        try:
            p.wait(timeout=seconds + 20)
        except subprocess.TimeoutExpired:
            raise RuntimeError("wrk did not finish in time")
        finally:
            self.procs.started = [(n, q) for n, q in self.procs.started if q is not p]
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        text = out.read_text(errors="replace")
        if p.returncode != 0:
            raise RuntimeError(f"wrk exited {p.returncode}:\n{text}")
        return text

    def own_pids(self) -> list[int]:
        pids = [self.origin.pid] + [v["proc"].pid for v in self.sy.values()]
        return pids + ([self.redis.pid] if self.redis_port else [])

    def wait_quiet(self) -> None:
        """Waits (at most --quiet-wait s) until other processes use < 15 % of a core."""
        t_end = time.monotonic() + self.a.quiet_wait
        while True:
            b0, o0 = busy_ticks(), own_ticks(*self.own_pids())
            time.sleep(1.0)
            foreign = ((busy_ticks() - b0) - (own_ticks(*self.own_pids()) - o0)) / run.CLK_TCK
            if foreign < 0.15:
                return
            if time.monotonic() >= t_end:
                run.log(f"  machine still busy ({foreign:.2f} CPU s/s from other processes); "
                        "measuring anyway")
                return
            time.sleep(1.0)

    def measure(self, subject: str, rnd: int) -> None:
        a = self.a
        backend, path = TARGETS[subject]
        sy = self.sy[backend]
        if sy["proc"].poll() is not None:
            raise RuntimeError(f"switchyard ({backend}) exited {sy['proc'].returncode}:\n"
                               + run.tail(sy["log"]))
        if a.quiet_wait > 0:
            self.wait_quiet()
        if a.warmup > 0:
            self.run_wrk(sy["port"], path, a.warmup)
        b0, o0 = busy_ticks(), own_ticks(*self.own_pids())
        d0 = spool_depth(sy["admin"]) if subject == "durable" else 0
        m0 = metrics(sy["admin"])
        r0 = redis_evalsha_calls(self.redis_port) if backend == "redis" else 0
        c0, t0 = run.cpu_ticks(sy["proc"].pid), time.monotonic()
        rc0 = run.cpu_ticks(self.redis.pid) if backend == "redis" else 0
        out = self.run_wrk(sy["port"], path, a.duration)
        c1 = run.cpu_ticks(sy["proc"].pid)
        rc1 = run.cpu_ticks(self.redis.pid) if backend == "redis" else 0
        r1 = redis_evalsha_calls(self.redis_port) if backend == "redis" else 0
        m1 = metrics(sy["admin"])
        foreign = ((busy_ticks() - b0) - (own_ticks(*self.own_pids()) - o0)) / run.CLK_TCK
        r = run.parse_wrk(out)
        r["foreign_cpu_s"] = max(0.0, foreign)
        r["round"] = rnd
        r["wall_s"] = time.monotonic() - t0
        r["cpu_us_per_req"] = (c1 - c0) / run.CLK_TCK * 1e6 / max(1, r["requests"])
        r["redis_cpu_us_per_req"] = (rc1 - rc0) / run.CLK_TCK * 1e6 / max(1, r["requests"])
        r["redis_calls"] = r1 - r0
        def delta(name: str, **labels: str) -> int:
            return int(metric(m1, name, **labels) - metric(m0, name, **labels))
        r["spooled"] = spool_depth(sy["admin"]) - d0 if subject == "durable" else 0
        partner = "durable" if subject == "durable" else "limited"
        r["limited"] = delta("switchyard_ratelimit_decisions_total", scope="partner",
                             key=partner, result="limited")
        self.results[subject].append(r)
        extra = ""
        if subject == "durable":
            extra = f"  spooled {r['spooled']:,}"
        elif backend == "redis":
            extra = (f"  redis calls {r['redis_calls']:,}  redis CPU "
                     f"{r['redis_cpu_us_per_req']:.1f} us/req")
        run.log(f"  round {rnd} {subject:<14} {r['rps']:>9.0f} req/s  p50 {r['p50_ms']:.3f} ms  "
                f"p99 {r['p99_ms']:.3f} ms  {r['cpu_us_per_req']:.1f} CPU us/req  errors "
                f"{r['errors']} non-2xx {r['non2xx']}{extra}  other processes "
                f"{r['foreign_cpu_s']:.1f} CPU s")

    def run(self) -> None:
        self.load_before = run.load_avg()
        self.started_at = dt.datetime.now(dt.timezone.utc)
        self.start()
        for rnd in range(1, self.a.rounds + 1):
            for s in self.a.subjects:
                self.measure(s, rnd)
        self.load_after = run.load_avg()
        self.write()

    # -- report
    def summary(self) -> dict[str, dict]:
        rows: dict[str, dict] = {}
        for s, runs in self.results.items():
            if not runs:
                continue
            rps = [r["rps"] for r in runs]
            med = statistics.median(rps)
            rows[s] = {
                "rps": med, "min": min(rps), "max": max(rps),
                "spread": (max(rps) - min(rps)) / med * 100 if med else 0.0,
                "p50": statistics.median(r["p50_ms"] for r in runs),
                "p99": statistics.median(r["p99_ms"] for r in runs),
                "cpu": statistics.median(r["cpu_us_per_req"] for r in runs),
                "redis_cpu": statistics.median(r["redis_cpu_us_per_req"] for r in runs),
                "errors": sum(r["errors"] for r in runs),
                "non2xx": sum(r["non2xx"] for r in runs),
                "requests": sum(r["requests"] for r in runs),
                "spooled": sum(r["spooled"] for r in runs),
                "redis_calls": sum(r["redis_calls"] for r in runs),
                "limited": sum(r["limited"] for r in runs),
                "rounds": rps,
                "foreign": [r["foreign_cpu_s"] for r in runs],
            }
        return rows

    def ratio(self, rows: dict, num: str, den: str) -> tuple[float, list[float]] | None:
        if num not in rows or den not in rows or not rows[den]["rps"]:
            return None
        per = [n / d for n, d in zip(rows[num]["rounds"], rows[den]["rounds"]) if d]
        return rows[num]["rps"] / rows[den]["rps"], per

    def quiet_ratios(self, rows: dict, num: str, den: str) -> list[float]:
        """Per-round ratios of the rounds in which neither run was disturbed."""
        limit = 0.1 * self.a.duration
        return [n / d for n, d, fn, fd in zip(rows[num]["rounds"], rows[den]["rounds"],
                                               rows[num]["foreign"], rows[den]["foreign"])
                if d and fn <= limit and fd <= limit]

    def write(self) -> None:
        a = self.a
        rows = self.summary()
        L: list[str] = [SECTION, ""]
        L.append(f"Generated by `benches/load/webhooks.py` on {self.started_at:%Y-%m-%d %H:%M} "
                 "UTC (BENCH.md: durable webhook intake vs plain forwarding; redis-backed "
                 "limiter vs the local one). `make bench` rewrites this file without this "
                 "section: run the command below again afterwards.")
        L.append("")
        L.append("```")
        L.append("cargo build --release -p switchyard")
        L.append(shlex.join(["python3", "benches/load/webhooks.py", *sys.argv[1:]]))
        L.append("```")
        L.append("")
        busy = float(self.load_before.split()[0]) > 0.5 * self.nproc
        L.append(f"- Machine: {self.nproc} × {run.cpu_model()}; kernel {platform.release()}; "
                 f"load average before {self.load_before}, after {self.load_after}"
                 + (" — **busy when the run started: rerun on an idle box**" if busy else "")
                 + f"; {run.version_of([self.bin, '--version'])} ({self.build_note()}); "
                 f"{run.version_of([self.wrk, '--version']).split(' Copyright')[0]}; "
                 f"python {platform.python_version()}.")
        L.append("- Subjects: one switchyard process per state backend (`workers: 1`, the same "
                 "config but `state.backend`), nginx origin `return 200 \"ok\\n\"` "
                 "(worker_processes 1). Every request is a POST of a 512-byte JSON body "
                 "authenticated by an API key in `X-Api-Key` (a Standard Webhooks HMAC cannot be "
                 "computed per request in wrk's Lua, and a fixed signature would fall out of the "
                 "±300 s timestamp window), content type and JSON checked. `plain`: no rate "
                 "limit, forwarded (200). `durable`: `rate: 1/h, burst 1`, `on_limit: queue`: "
                 "each request is spooled, fdatasync'd (group commit) and answered 202 — the "
                 "spool (on the machine's ext4 disk, not tmpfs) delivers one per hour. "
                 "`limiter-*`: `rate: 1000000/s, burst 1000000`, `on_limit: reject`: admits "
                 "everything, so the difference is the limiter's decision: redis GCRA (EVALSHA, "
                 f"`state.redis.timeout: {a.redis_timeout}`) vs the in-process bucket. No "
                 "dedupe configured (it would add a redis round trip on the redis backend).")
        L.append(f"- Load: wrk `-t{a.threads} -c{a.connections}`, {a.warmup:g} s warm-up then "
                 f"{a.duration:g} s measured per subject and round; {a.rounds} round(s), subjects "
                 "interleaved in the order " + ", ".join(a.subjects) + f"; before each run up to "
                 f"{a.quiet_wait:g} s of waiting until other processes use under 15 % of a core"
                 ". CPU µs/request: the "
                 "switchyard process's utime+stime over the measured run ÷ requests (redis's own "
                 "CPU shown apart).")
        L.append("- " + (f"switchyard and origin pinned to CPU {a.subject_cpu}; wrk on CPU "
                         f"{a.load_cpu}; redis-server on CPU {a.redis_cpu} (taskset)."
                         if self.pin else "no CPU pinning."))
        L.append("")
        L.append("| subject | requests/s (median) | min–max | spread | p50 ms | p99 ms "
                 "| proxy CPU µs/req | errors / non-2xx | check |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for s in a.subjects:
            if s not in rows:
                continue
            r = rows[s]
            # The proxy also finishes what was in flight when wrk stopped (up to -c per
            # run, warm-up included), so its counts may exceed wrk's by that much.
            if s == "durable":
                ok = r["spooled"] >= r["requests"] * 0.99
                check = (f"spool grew by {r['spooled']:,} for {r['requests']:,} requests "
                         + ("(all spooled: 202)" if ok else "(**fewer spooled than answered**)")
                         + f", {r['limited']:,} over-rate decisions")
            elif s == "limiter-redis":
                short = r["requests"] - r["redis_calls"]
                check = (f"redis EVALSHA calls {r['redis_calls']:,} for {r['requests']:,} "
                         "requests" + (f" (**{short:,} not decided by redis: failed open**)"
                                       if short > r["requests"] * 0.01 else "")
                         + f"; redis CPU {r['redis_cpu']:.1f} µs/req; limited {r['limited']}")
            elif s == "limiter-local":
                check = f"limited {r['limited']}"
            else:
                check = "—"
            L.append(f"| {s} | {r['rps']:,.0f} | {r['min']:,.0f}–{r['max']:,.0f} | "
                     f"{r['spread']:.0f} % | {r['p50']:.3f} | {r['p99']:.3f} | {r['cpu']:.1f} | "
                     f"{r['errors']} / {r['non2xx']} | {check} |")
        L.append("")
        for num, den, goal, what in [("durable", "plain", 0.5, "durable intake / plain forwarding"),
                                     ("limiter-redis", "limiter-local", 0.7,
                                      "redis limiter / local limiter")]:
            rr = self.ratio(rows, num, den)
            if rr is None:
                continue
            med, per = rr
            verdict = "meets" if med >= goal else "**below**"
            cpu = rows[den]["cpu"] / rows[num]["cpu"] if rows[num]["cpu"] else 0.0
            quiet = self.quiet_ratios(rows, num, den)
            q = (f"; undisturbed rounds only (other processes ≤ 10 % of a core in both runs): "
                 + (", ".join(f"{x:.2f}" for x in quiet) + f" (median "
                    f"{statistics.median(quiet):.2f})" if quiet else "none"))
            L.append(f"- **{what}: {med:.2f}** (goal ≥ {goal}: {verdict}); per round "
                     + ", ".join(f"{x:.2f}" for x in per) + q + f". By proxy CPU per request "
                     f"(the steadiest figure on a shared box; what one saturated core would "
                     f"give): {cpu:.2f}.")
        if "durable" in rows and "plain" in rows:
            L.append(f"- CPU per request: durable {rows['durable']['cpu']:.1f} µs vs plain "
                     f"{rows['plain']['cpu']:.1f} µs. The spool append replaces the upstream "
                     "exchange (and the origin's CPU, which shares the subject's core), and the "
                     "fdatasync waits are off-CPU on the spool's writer thread: one fdatasync "
                     "takes ~120 µs here (BENCH.md), so one per request would cap intake near "
                     f"8,000/s — {rows['durable']['rps']:,.0f}/s means appends are group-"
                     "committed. (The spool counts its fdatasyncs, `Spool::fdatasyncs`, but no "
                     "metric exports it yet.)")
        if "limiter-redis" in rows and "limiter-local" in rows:
            rr, ll = rows["limiter-redis"], rows["limiter-local"]
            L.append(f"- CPU per request: redis limiter {rr['cpu']:.1f} µs (+ redis "
                     f"{rr['redis_cpu']:.1f} µs) vs local {ll['cpu']:.1f} µs: the EVALSHA round "
                     f"trip costs the proxy ~{rr['cpu'] - ll['cpu']:.1f} µs of CPU per request "
                     f"and adds {rr['p50'] - ll['p50']:.2f} ms to the p50 at -c{a.connections}.")
        L.append("")
        L.append("Per round (requests/s): " + "; ".join(
            f"{s} " + ", ".join(f"{x:,.0f}" for x in rows[s]["rounds"])
            for s in a.subjects if s in rows) + ".")
        L.append("")
        L.append(f"CPU used by other processes on the machine (not this benchmark's) during each "
                 "measured run, CPU s per round: " + "; ".join(
                     f"{s} " + "/".join(f"{x:.1f}" for x in rows[s]["foreign"])
                     for s in a.subjects if s in rows) + ".")
        noisy = [s for s in a.subjects if s in rows and max(rows[s]["foreign"]) > 0.1 * a.duration]
        if noisy:
            L.append(f"**Other processes used more than 10 % of a core during {', '.join(noisy)}: "
                     "those runs were disturbed; trust the ratios of a quiet run more.**")
        L.append("")
        L.append("Commands (ports vary):")
        L.append("")
        L.append("```")
        for k, v in self.cmds.items():
            L.append(f"# {k}\n{v}")
        port = "PORT"
        L.append("# load (per subject; path /hooks/{plain,durable,limited}/events)\n"
                 + shlex.join(self.wrk_cmd(0, "/hooks/plain/events", a.duration))
                 .replace(str(self.tmp), "$TMP").replace("127.0.0.1:0", f"127.0.0.1:{port}"))
        L.append("```")
        L.append("")
        cfg = next(iter(self.sy.values()))["config"] if self.sy else ""
        L.append("<details><summary>switchyard.yaml (local backend; the redis one differs "
                 "only in <code>state</code>) and post.lua</summary>\n\n```yaml\n"
                 + re.sub(r"/\S*switchyard-webhooks-[^/]+", "$TMP", cfg).strip()
                 + "\n```\n\n```lua\n" + lua_script().strip() + "\n```\n</details>")
        text = "\n".join(L) + "\n"
        out = Path(a.out)
        old = out.read_text() if out.exists() else ""
        m = re.search(rf"(?m)^{re.escape(SECTION)}$", old)
        if m:  # replace our section only, keep what follows it
            head = old[:m.start()]
            nxt = re.search(r"(?m)^## ", old[m.end():])
            tail = old[m.end() + nxt.start():] if nxt else ""
        else:
            head, tail = (old.rstrip("\n") + "\n\n") if old else "", ""
        out.write_text(head + text + ("\n" + tail if tail else ""))
        run.log(f"wrote section {SECTION!r} of {out}")
        print(text)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=int, default=10, help="measured seconds per run (≤ 15)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--subjects", default=",".join(ALL_SUBJECTS),
                   help="comma list from " + ",".join(ALL_SUBJECTS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--redis-timeout", default="20ms", help="state.redis.timeout")
    p.add_argument("--subject-cpu", default="1", help="CPU of switchyard and the origin")
    p.add_argument("--load-cpu", default="0", help="CPU of wrk")
    p.add_argument("--redis-cpu", default="1", help="CPU of redis-server (default: with the "
                   "subject; on the load generator's CPU it waits behind a saturated wrk)")
    p.add_argument("--no-pin", action="store_true")
    p.add_argument("--quiet-wait", type=float, default=30, help="before each run, wait up to "
                   "this long for other processes to go quiet (0: don't)")
    p.add_argument("--tmp-dir", default=None, help="where the spool lives (a real disk; "
                   "default: the system temp dir)")
    p.add_argument("--out", default=str(REPO / "benches/RESULTS.md"))
    a = p.parse_args()
    a.subjects = [s.strip() for s in a.subjects.split(",") if s.strip()]
    bad = [s for s in a.subjects if s not in ALL_SUBJECTS]
    if bad or not a.subjects:
        p.error(f"unknown subject(s) {bad}")
    if not 0 < a.duration <= 15:
        p.error("--duration must be in (0, 15] seconds")
    if not 0 <= a.warmup <= 15:
        p.error("--warmup must be in [0, 15] seconds")

    return run.run_bench(Bench(a))

if __name__ == "__main__":
    sys.exit(main())
