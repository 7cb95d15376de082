"""Where a study's files live, and the manifest that guards its folder.

    OUT/study.json                      the study, its settings (the manifest)
    OUT/results.csv, results.json       one row per run; per-variant summary
    OUT/report.md, *.png                the report
    OUT/runs/VARIANT/seed-N/            one run: config.json, history.csv,
                                        result.json (when finished), backup/
"""

import os
import shutil
from pathlib import Path

from kgen.studies.files import read_json, write_json

MANIFEST = "study.json"
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
        return read_json(path)
    except ValueError:
        raise ValueError(f"{path} is not valid JSON. Received: out={str(out_dir)!r}") from None


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
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"The output folder cannot be written: no write permission on "
                         f"{str(existing)!r} (or a read-only disk). Received: out={str(out_dir)!r}")
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
        if any(out_dir.iterdir()):
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
    for name, value in settings.result_fields().items():
        if old_settings.get(name) != value:
            differences.append(f"{name}={old_settings.get(name)!r}, not {value!r}")
    return differences


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
