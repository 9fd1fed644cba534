#!/usr/bin/env python3
"""Restore one space's files (issue 16): cost of the retention window and time of a rewind.

Runs a throwaway MinIO (4 drives in a temporary directory, a free port on 127.0.0.1, a random
root password; no container) from the lab's artifacts, and drives the real module
plugins/modules/nuagerie_minio_rewind.py against it:

  1. writes N objects named like Nextcloud's (``urn:oid:<id>``) into a versioned bucket
     (with the farm's lifecycle rule), notes the moment T and the sha256 of every object;
  2. one "day" of churn: overwrites, deletes and new objects (fractions below);
  3. storage: bytes of current objects vs all versions (``mc du --versions``) and on the drives
     (``du``), i.e. what keeping the noncurrent versions costs for that churn;
  4. the module in check mode (the plan), then for real (timed), then again (nothing left);
  5. every object read back and hashed: the bucket must hold exactly the objects of T;
  6. does the bucket quota count the noncurrent versions? A hard quota a little above the
     current objects (below all versions) is set and a small object written every 15 s until
     one is refused or QUOTA_WAIT seconds pass (MinIO checks against its scanner's usage);
     then the control: a quota above all versions accepts the write (refused case), or one
     below the current objects refuses it (accepted case: the scanner did measure).

Usage (from the repository root): ``.venv/bin/python benchmarks/restore-space.py [N] [size KiB]``
Environment: NUAGERIE_ARTIFACT_DIR (default ~/.cache/nuagerie/artifacts), CHURN_OVERWRITE (0.2),
CHURN_DELETE (0.1), CHURN_NEW (0.1) as fractions of N, QUOTA_WAIT (900 s; 0 skips step 6). Stops its
MinIO and removes its files at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "plugins" / "modules" / "nuagerie_minio_rewind.py"


def artifact(name: str) -> str:
    base = Path(os.environ.get("NUAGERIE_ARTIFACT_DIR", Path.home() / ".cache/nuagerie/artifacts"))
    found = sorted(base.glob(f"{name}/*/{name}"))
    if not found:
        sys.exit(f"no {name} under {base}: run lab/artifacts.sh")
    return str(found[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    size_kib = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    fractions = {k: float(os.environ.get(f"CHURN_{k.upper()}", d))
                 for k, d in (("overwrite", 0.2), ("delete", 0.1), ("new", 0.1))}
    work = Path(tempfile.mkdtemp(prefix="r16-restore-bench-"))
    port, password = free_port(), secrets.token_urlsafe(24)
    env = dict(os.environ, MINIO_ROOT_USER="bench", MINIO_ROOT_PASSWORD=password, MINIO_CI_CD="1",
               MINIO_BROWSER="off")
    server = subprocess.Popen([artifact("minio"), "server", "--quiet", "--address", f"127.0.0.1:{port}",
                               str(work / "d{1...4}")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    mcconf = work / "mc"
    mc_bin = artifact("mc")

    def mc(*args: str, stdin: str | None = None) -> list:
        proc = subprocess.run([mc_bin, "--config-dir", str(mcconf), "--json", "--quiet", *args], input=stdin,
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"mc {' '.join(args[:3])}: {proc.stdout[-500:]} {proc.stderr[-500:]}")
        return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]

    def module(check: bool) -> dict:
        args = {"ANSIBLE_MODULE_ARGS": {"alias": "bench", "mc_path": mc_bin, "mc_config_dir": str(mcconf),
                                        "bucket": "nc-bench", "at": at, "window_days": 30, "_ansible_check_mode": check}}
        path = work / "args.json"
        path.write_text(json.dumps(args))
        proc = subprocess.run([sys.executable, str(MODULE), str(path)], capture_output=True, text=True, check=False)
        out = json.loads(proc.stdout)
        if out.get("failed"):
            raise SystemExit(f"module failed: {out.get('msg')}")
        return out

    try:
        for _ in range(60):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        time.sleep(1)
        subprocess.run([mc_bin, "--config-dir", str(mcconf), "--quiet", "alias", "set", "bench",
                        f"http://127.0.0.1:{port}", "bench", password], check=True, stdout=subprocess.DEVNULL)
        mc("mb", "--with-versioning", "bench/nc-bench")
        mc("ilm", "import", "bench/nc-bench", stdin=json.dumps({"Rules": [{
            "ID": "nuagerie-restore-window", "Status": "Enabled", "Expiration": {"ExpiredObjectDeleteMarker": True},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]}))
        rng = random.Random(16)
        src = work / "src"
        src.mkdir()

        def write(ids: list) -> None:
            shutil.rmtree(src)
            src.mkdir()
            for i in ids:
                (src / f"urn:oid:{i}").write_bytes(rng.randbytes(max(1, int(rng.expovariate(1 / (size_kib * 1024))))))
            mc("cp", "--recursive", "--disable-multipart", f"{src}/", "bench/nc-bench/")

        ids = list(range(1, count + 1))
        t0 = time.monotonic()
        write(ids)
        upload_s = time.monotonic() - t0
        expected = {f"urn:oid:{i}": hashlib.sha256((src / f"urn:oid:{i}").read_bytes()).hexdigest() for i in ids}
        time.sleep(1.1)
        at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        time.sleep(1.1)

        def du(versions: bool) -> int:
            return int(mc("du", *(["--versions"] if versions else []), "bench/nc-bench")[-1]["size"])

        def drives() -> int:
            out = subprocess.run(["du", "-sb"] + [str(work / f"d{i}") for i in range(1, 5)], capture_output=True,
                                 text=True, check=True).stdout
            return sum(int(line.split()[0]) for line in out.splitlines())

        before_cur, before_disk = du(False), drives()
        shuffled = ids[:]
        rng.shuffle(shuffled)
        n_over, n_del = int(count * fractions["overwrite"]), int(count * fractions["delete"])
        overwritten, deleted = shuffled[:n_over], shuffled[n_over:n_over + n_del]
        created = list(range(count + 1, count + 1 + int(count * fractions["new"])))
        write(overwritten + created)
        if deleted:
            mc("rm", "--force", "--stdin", stdin="".join(f"bench/nc-bench/urn:oid:{i}\n" for i in deleted))
        after_cur, after_all = du(False), du(True)
        after_disk = drives()

        plan = module(check=True)
        t0 = time.monotonic()
        done = module(check=False)
        rewind_s = time.monotonic() - t0
        again = module(check=True)
        back = work / "back"
        mc("cp", "--recursive", "bench/nc-bench/", f"{back}/")
        got = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in back.iterdir()}
        restored_all = du(True)

        mib = 1024 * 1024
        print(f"objects at T: {count}, mean size {size_kib} KiB (exponential), {before_cur / mib:.1f} MiB; "
              f"upload {upload_s:.1f} s")
        print(f"churn after T: {len(overwritten)} overwritten, {len(deleted)} deleted, {len(created)} new")
        print(f"storage: current objects {after_cur / mib:.1f} MiB; all versions {after_all / mib:.1f} MiB "
              f"(noncurrent + delete markers: {(after_all - after_cur) / mib:.1f} MiB = "
              f"{100 * (after_all - after_cur) / after_cur:.1f} % of current)")
        print(f"drives (4, EC): {before_disk / mib:.1f} MiB at T, {after_disk / mib:.1f} MiB after the churn "
              f"(+{100 * (after_disk - before_disk) / before_disk:.1f} %; the churn wrote "
              f"{(after_all - before_cur) / mib:.1f} MiB of new versions)")
        print(f"plan (check mode, {plan['seconds']} s): restore {plan['restore']}, remove {plan['remove']}, "
              f"unchanged {plan['unchanged']} of {plan['keys']} keys")
        print(f"rewind: {rewind_s:.1f} s wall ({done['seconds']} s in the module: listing, "
              f"{done['restore']} server-side copies, {done['remove']} delete markers, check); "
              f"a second plan: restore {again['restore']}, remove {again['remove']}")
        print(f"after the rewind: all versions {restored_all / mib:.1f} MiB (the copies are new versions)")
        ok = got == expected
        print(f"read back: {len(got)} objects, {'identical to T (sha256)' if ok else 'DIFFERENT from T'}")
        if not ok:
            missing = sorted(set(expected) - set(got))[:5]
            extra = sorted(set(got) - set(expected))[:5]
            differ = sorted(k for k in set(got) & set(expected) if got[k] != expected[k])[:5]
            raise SystemExit(f"mismatch: missing {missing}, extra {extra}, different {differ}")
        quota_wait = int(os.environ.get("QUOTA_WAIT", "900"))
        if quota_wait > 0:
            quota_step(mc_bin, mcconf, work, du(False), du(True), quota_wait)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


def quota_step(mc_bin: str, mcconf: Path, work: Path, current: int, every: int, wait: int) -> None:
    """Step 6: whether MinIO's bucket quota counts noncurrent versions, measured by refusals."""
    probe = work / "probe"
    probe.write_bytes(os.urandom(64 * 1024))
    mib = 1024 * 1024

    def run(*args: str) -> tuple[bool, str]:
        proc = subprocess.run([mc_bin, "--config-dir", str(mcconf), "--quiet", *args],
                              capture_output=True, text=True, check=False)
        return proc.returncode == 0, (proc.stdout + proc.stderr).strip()

    def set_quota(size: int) -> None:
        ok, out = run("quota", "set", "bench/nc-bench", "--size", str(size))
        if not ok:
            raise SystemExit(f"mc quota set: {out[-300:]}")

    def probe_until(refused: bool, seconds: int) -> tuple[float | None, str]:
        """Write a 64 KiB object every 15 s until its outcome is `refused`; seconds waited or None."""
        start, n = time.monotonic(), 0
        while True:
            n += 1
            ok, out = run("cp", "--disable-multipart", str(probe), f"bench/nc-bench/quota-probe-{n}")
            if ok != refused:
                return time.monotonic() - start, out
            if time.monotonic() - start > seconds:
                return None, out
            time.sleep(15)

    # Headroom: more than the probes written while waiting, far less than the noncurrent bytes.
    headroom = min(4 * mib, (every - current) // 4)
    print(f"quota: current objects {current / mib:.1f} MiB, all versions {every / mib:.1f} MiB; "
          f"hard quota set to {(current + headroom) / mib:.1f} MiB (current + {headroom / mib:.1f} MiB)")
    set_quota(current + headroom)
    waited, out = probe_until(refused=True, seconds=wait)
    if waited is not None:
        print(f"quota: a 64 KiB write REFUSED {waited:.0f} s after the quota was set ({out[-160:]}): "
              f"the noncurrent versions count against the quota")
        set_quota(every + 64 * mib)
        control, out = probe_until(refused=False, seconds=60)
        print(f"quota control: with the quota above all versions the write is "
              f"{'accepted' if control is not None else 'STILL REFUSED: ' + out[-160:]}")
    else:
        print(f"quota: writes still accepted after {wait} s: the noncurrent versions do not count "
              f"(or the scanner has not measured the bucket yet)")
        set_quota(current // 2)
        control, out = probe_until(refused=True, seconds=wait)
        print(f"quota control: with the quota below the current objects the write is "
              f"{'refused after %.0f s' % control if control is not None else 'STILL ACCEPTED (no scan yet)'}")


if __name__ == "__main__":
    main()
