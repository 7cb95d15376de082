"""Where a study's files live, and the manifest that guards its folder.

    OUT/study.json                      the study, its settings (the manifest)
    OUT/results.csv, results.json       one row per run; per-variant summary
    OUT/report.md, *.png                the report
    OUT/reference.json                  the plain-PyTorch reference's speed,
                                        measured around the runs (--reference)
    OUT/runs/VARIANT/seed-N/            one run: config.json, history.csv,
                                        result.json (when finished), backup/
"""

import contextlib
import os
import shutil
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

from kgen.studies.files import read_json, write_json
from kgen.studies.settings import LATER_RESULT_FIELDS, RESULT_FIELDS

MANIFEST = "study.json"
REFERENCE = "reference.json"
# Held (flock) by the process running a study in the folder; the kernel releases it
# when that process dies, however it dies, so a killed study never leaves a stale lock.
LOCK_FILE = ".kgen.lock"
FORMAT_VERSION = 1
# A run's backup is its weights and optimizer state: for ladder-9 at full width,
# 10M parameters x 4 bytes x 3 (weights and Adam's two moments), about 120 MB, and
# twice that for a moment while the next epoch's file replaces it. With less free
# space than this, a study would fail at a backup instead of before training.
MIN_FREE_BYTES = 512 * 2**20


def run_dir(out_dir, variant_name, seed):
    return Path(out_dir) / "runs" / variant_name / f"seed-{seed}"


def read_manifest(out_dir):
    path = Path(out_dir) / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = read_json(path)
    except (ValueError, OSError) as error:
        raise ValueError(f"{path} cannot be read as a study manifest ({error}). "
                         f"Received: out={str(out_dir)!r}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("study"), dict):
        raise ValueError(f"{path} is not a kgen study manifest (no study in it). "
                         f"Received: out={str(out_dir)!r}")
    return manifest


def check_writable(out_dir, min_free_bytes=MIN_FREE_BYTES):
    """The output folder, or the folder it will be created in, must be a
    writable folder on a disk with at least `min_free_bytes` free."""
    out_dir = Path(out_dir)
    existing = out_dir.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "exists" if existing == out_dir.absolute() else f"is inside {str(existing)!r}, which"
        raise ValueError(f"The output path {where} is not a folder. "
                         f"Received: out={str(out_dir)!r}")
    # On resume every folder below must be writable too: a read-only runs/ folder
    # would otherwise fail at the first run, after study.json was rewritten.
    folders = ([Path(root) for root, _, _ in os.walk(existing)]
               if existing == out_dir.absolute() else [existing])
    for folder in folders:
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ValueError(f"The output folder cannot be written: no write permission on "
                             f"{str(folder)!r} (or a read-only disk). "
                             f"Received: out={str(out_dir)!r}")
    free = shutil.disk_usage(existing).free
    if free < min_free_bytes:
        raise ValueError(
            f"The disk of the output folder is full: {free / 2**20:.0f} MiB free, a study "
            f"needs at least {min_free_bytes / 2**20:.0f} MiB. Received: out={str(out_dir)!r}"
        )


def check_output_folder(out_dir, study, settings, force=False):
    """Refuses a folder that cannot be written (`check_writable`) or that holds
    something else than this study (unless `force`).

    The same study with the same result-changing settings may be resumed or
    extended (more seeds, other `--only` variants); a different study, changed
    variant definitions or changed settings would mix incomparable runs.
    """
    out_dir = Path(out_dir)
    check_writable(out_dir)
    if force or not out_dir.exists():
        return
    manifest = read_manifest(out_dir)
    if manifest is None:
        if any(path.name != LOCK_FILE for path in out_dir.iterdir()):
            raise ValueError(
                "The output folder is not empty and holds no kgen study (no study.json); "
                f"choose another --out or pass --force. Received: out={str(out_dir)!r}"
            )
        return
    differences = manifest_differences(manifest, study, settings)
    if differences:
        raise ValueError(
            f"The output folder holds another study ({'; '.join(differences)}); choose "
            f"another --out or pass --force to replace it. Received: out={str(out_dir)!r}"
        )


def manifest_differences(manifest, study, settings):
    old_study = manifest.get("study", {})
    differences = []
    if old_study.get("name") != study.name:
        differences.append(f"study {old_study.get('name')!r}, not {study.name!r}")
        return differences
    old_variants = {v["name"]: v for v in old_study.get("variants", [])}
    for variant in study.variants:
        old = old_variants.get(variant.name)
        if old is not None and _comparable(old) != _comparable(variant.to_dict()):
            differences.append(f"variant {variant.name!r} defined differently")
    old_settings = manifest.get("settings", {})
    for name in RESULT_FIELDS:
        # A manifest written before a field existed holds that field's default.
        old, new = old_settings.get(name, LATER_RESULT_FIELDS.get(name)), getattr(settings, name)
        if isinstance(new, tuple):
            new = list(new)  # as JSON holds it (`classes`)
        if old != new:
            differences.append(f"{name}={old!r}, not {new!r}")
    return differences


_held_locks = {}


@contextlib.contextmanager
def locked(out_dir):
    """Holds the output folder's lock while the block runs, so two processes
    never train the same run: a second one is refused at once with the first
    one's pid. Re-entrant within a process (the CLI takes it before writing
    study.json, `run_study` again around the runs)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    key = str(out_dir.resolve())
    if key in _held_locks:
        yield
        return
    file = open(out_dir / LOCK_FILE, "a+", encoding="utf-8")
    try:
        try:
            if fcntl is not None:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                file.seek(0)
                msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            file.seek(0)
            holder = file.read().strip() or "unknown"
            raise ValueError(
                f"Another kgen process (pid {holder}) is running a study in this output "
                f"folder: wait for it to finish, or choose another --out. "
                f"Received: out={str(out_dir)!r}"
            ) from None
        file.seek(0)
        file.truncate()
        file.write(str(os.getpid()))
        file.flush()
        _held_locks[key] = file
        try:
            yield
        finally:
            del _held_locks[key]
    finally:
        file.close()  # releases the lock


def write_manifest(out_dir, study, settings, seeds):
    """Records `study` (all its variants, also those `--only` left out) and its
    settings; the seeds are those of earlier invocations plus `seeds`."""
    manifest = read_manifest(out_dir) or {}
    same_study = manifest.get("study", {}).get("name") == study.name
    seeds = sorted(set(manifest.get("seeds", []) if same_study else []) | set(seeds))
    write_json(Path(out_dir) / MANIFEST, {
        "format": FORMAT_VERSION,
        "study": study.to_dict(),
        "settings": settings.to_dict(),
        "seeds": seeds,
    })


def _comparable(variant):
    return {k: v for k, v in _normalize(variant).items() if k not in ("summary", "course")}


def _normalize(value):
    # JSON turns tuples into lists; compare the JSON forms.
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalize(v) for v in value]
    return value


def read_references(out_dir):
    """The reference measurements recorded in `out_dir` (`record_references`),
    oldest first; [] when none were taken."""
    path = Path(out_dir) / REFERENCE
    if not path.exists():
        return []
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("measurements"), list):
        raise ValueError(f"{path} is not a kgen reference file. Received: file={str(path)!r}")
    return data["measurements"]


def record_references(out_dir, measurements):
    """Appends `measurements` (each `kgen.bench.measure_reference()`'s dict plus
    `when`: "before" or "after" the runs) to `out_dir`'s reference file, so a
    study resumed in several sessions keeps each session's figures."""
    every = read_references(out_dir) + list(measurements)
    write_json(Path(out_dir) / REFERENCE, {"measurements": every})
