"""Gate daemon benchmark: resident memory and frame-to-feedback latency of `vhd-gate run`.

Runs the real daemon over generated frames of different people's codes, reads its peak RSS
from /proc while it runs, and the per-decision latency (frame capture to end of feedback) from
its log. Baseline in the same run: the RSS of a bare Python interpreter. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from protocol.token import encode_public_key, issue_token  # noqa: E402
from sim.frames import Shot, compose, render_qr, save_frame  # noqa: E402


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--people", type=int, default=60)
    ap.add_argument("--decisions", type=int, default=200)
    ap.add_argument("--fps", type=float, default=15)
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()

    key = Ed25519PrivateKey.generate()
    now = int(time.time())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "frames").mkdir()
        for i in range(args.people):
            tok = issue_token(key, f"VHD-{i:06d}", f"Người Thứ {i}", now - 3600, now + 86400)
            save_frame(compose(render_qr(tok), Shot(size=200 + i % 80, angle=i * 13 % 360), seed=i),
                       tmp / "frames" / f"{i:04d}.png")
        cfg = tmp / "gate.toml"
        cfg.write_text(f"""
[gate]
device_id = "gate-bench"
state_dir = "{tmp / 'state'}"
[policy]
debounce_seconds = 0
[display]
driver = "none"
[signals]
driver = "none"
[trust]
public_keys = ["{encode_public_key(key.public_key())}"]
""")
        bare = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"])
        time.sleep(0.5)
        bare_kb = status_kb(bare.pid, "VmRSS")
        bare.wait()

        proc = subprocess.Popen(
            [sys.executable, "-m", "device.cli", "run", "--config", str(cfg),
             "--camera", f"images:{tmp / 'frames'}?fps={args.fps}&loop"],
            cwd=ROOT, stderr=subprocess.PIPE, text=True)
        latencies, peak_kb = [], 0
        deadline = time.monotonic() + args.timeout
        try:
            for line in proc.stderr:
                m = re.search(r"feedback accepted .*latency_ms=([\d.]+)", line)
                if m:
                    latencies.append(float(m.group(1)))
                    peak_kb = max(peak_kb, status_kb(proc.pid, "VmHWM"))
                if len(latencies) >= args.decisions or time.monotonic() > deadline:
                    break
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    latencies.sort()
    print(json.dumps({
        "benchmark": "gate",
        "decisions": len(latencies),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "baseline_bare_python_rss_mb": round(bare_kb / 1024, 1),
        "latency_ms_p50": round(statistics.median(latencies), 1) if latencies else None,
        "latency_ms_p95": round(latencies[int(len(latencies) * 0.95) - 1], 1) if latencies else None,
        "latency_ms_max": round(latencies[-1], 1) if latencies else None,
        "targets": {"peak_rss_mb": 80, "latency_ms": 300},
    }))


if __name__ == "__main__":
    main()
