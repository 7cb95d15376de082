"""The Markdown table `kgen bench` prints."""

def format_table(results):
    """The results as a Markdown table (what `kgen bench` prints)."""
    config = results["config"]
    rows = [
        "| backend | compiled | warm-up s | images/s | x reference | images/CPU-s | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]

    def number(value, digits=0):
        return "-" if value is None else f"{value:,.{digits}f}"

    def rate(value):
        # Whole images for CIFAR-sized networks; a large network (vgg16 at
        # 224x224 trains a few images a second here) needs the decimals.
        return number(value, 0 if value is None or value >= 100 else 2)

    reference = results.get("reference")
    if reference:
        if reference.get("error"):
            rows.append(f"| plain PyTorch (reference) | failed: {reference['error'][:60]} | | | | | |")
        else:
            cpu = reference.get("cpu_seconds_per_image")
            memory = reference.get("peak_rss_mb")
            workers = reference.get("worker_peak_rss_mb")
            memory_text = number(memory) + (f" + {config['reference_workers']} x {number(workers)}"
                                            if workers and config["reference_workers"] else "")
            rows.append(
                f"| plain PyTorch, {config['reference_workers']} workers (reference) | eager | "
                f"{number(reference.get('warmup_seconds'), 1)} | "
                f"{rate(reference['images_per_second'])} | 1.00 | "
                f"{rate(1 / cpu if cpu else None)} | {memory_text} |"
            )
    for entry in results["results"]:
        if entry.get("error"):
            rows.append(f"| {entry['backend']} | failed: {entry['error'][:60]} | | | | | |")
            continue
        cpu = entry.get("cpu_seconds_per_image")
        compiled = _compiled_name(entry["backend"], entry.get("jit_compile"))
        rows.append(
            f"| {entry['backend']} | {compiled} | {number(entry.get('warmup_seconds'), 1)} | "
            f"{rate(entry.get('images_per_second'))} | "
            f"{number(entry.get('ratio_to_reference'), 2)} | "
            f"{rate(1 / cpu if cpu else None)} | {number(entry.get('peak_rss_mb'))} |"
        )
    floor = results.get("floor")
    lines = [
        f"{config['preset']} width {config['width']}, batch {config['batch']}, "
        f"{config.get('image_size', 32)}x{config.get('image_size', 32)} images, "
        f"{config['precision']}, {config['steps']} timed steps in {config['windows']} windows "
        f"after {config['warmup_steps']} warm-up steps, median of {config['repeats']} round(s)",
        "",
        *rows,
    ]
    if floor:
        lines += [
            "",
            f"Floor: {floor['training_flops_per_image'] / 1e6:,.1f} MFLOP per training image "
            f"(3 x {floor['forward_flops_per_image'] / 1e6:,.1f} forward) at "
            f"{floor['matmul_gflops']:.1f} GFLOP/s (best float32 matmul of numpy/torch "
            f"here): {floor['images_per_second_bound']:,.0f} images/s if every FLOP ran "
            f"at that rate.",
        ]
    machine = results["machine"]
    lines.append(
        f"Machine: {machine['cpu']}, {machine['cpu_count']} CPUs; load average "
        f"{machine['load_before']} before, {machine.get('load_after')} after."
    )
    return "\n".join(lines)


def _compiled_name(backend, jit_compile):
    if not jit_compile:
        return "eager" if backend == "torch" else "graph (no XLA)"
    return {"tensorflow": "XLA", "jax": "jax.jit (XLA)", "torch": "torch.compile"}[backend]
