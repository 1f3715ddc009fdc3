"""What the generation benchmarks share: the machine record, benchmark checkpoints, timing and results.

Figures on a shared machine move with whatever else runs, so every figure here
is the median of several runs, and each run also records the CPU seconds it
used: ``cpu_s / wall_s`` says how many cores the benchmark actually got, and
CPU seconds per clip are far steadier than wall time when neighbours come and go.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import statistics
import sys
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Callable

import psutil

RESULTS = Path(__file__).resolve().parent / "results"
CLASSES = [f"class{i}" for i in range(8)]

# The shipped generator widths (schemas/config.py and prefect.yaml) and their generation batch sizes.
ARCHITECTURES = {
    "default": {"z_dim": 128, "channels": 32, "batch_size": 32},  # ModelConfig() / GenerateConfig()
    "augment-ucf101": {"z_dim": 128, "channels": 64, "batch_size": 64},
    "augment-demo": {"z_dim": 128, "channels": 16, "batch_size": 32},
}


def build_checkpoint(path: Path, size: int, arch: str, frames: int = 16, fps: float = 25.0) -> Path:
    """A checkpoint in the training module's format whose generator has untrained, seeded weights.

    Throughput does not depend on what the weights learnt; the pixels do, and
    with them x264's work, which is why ``encode_throughput`` also encodes
    rendered procedural clips. Only the generator is stored: generation reads
    nothing else, and the other entries are left empty.
    """
    import torch

    from generators import VideoGenerator, save_checkpoint
    from schemas.config import ClipFormat, ModelConfig, TrainConfig

    a = ARCHITECTURES[arch]
    model = ModelConfig(z_dim=a["z_dim"], channels=a["channels"])
    clip = ClipFormat(frames=frames, size=size, fps=fps)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        weights = VideoGenerator(len(CLASSES), model.z_dim, model.channels, frames, size).state_dict()
    state = {
        "config": TrainConfig(model=model).model_dump(mode="json"),
        "clip": clip.model_dump(mode="json"),
        "class_names": CLASSES,
        "step": 0,
        "G": weights,
        "G_ema": weights,
        **{k: {} for k in ("D_video", "D_frame", "opt_G", "opt_D")},
        "rng": torch.Generator().get_state(),
    }
    return save_checkpoint(path, state)


class Meter:
    """Wall time, CPU seconds and peak RSS of this process and all its descendants while the block runs.

    A sampler thread reads every process of the tree every ``every_s`` seconds,
    because worker processes (Dask, multi-process Beam) may be gone before the
    block ends. Short-lived children between samples are missed; the workers
    measured here live for the whole block.
    """

    def __init__(self, every_s: float = 0.2):
        self.every_s = every_s
        self._cpu: dict[int, float] = {}
        self.peak_rss = 0
        self.rss_trace: list[tuple[float, int]] = []
        self._stop = threading.Event()

    @staticmethod
    def _tree() -> dict[int, tuple[float, int]]:
        """CPU seconds and RSS of every process in this process's tree, by pid."""
        me = psutil.Process()
        out = {}
        for p in [me, *me.children(recursive=True)]:
            try:
                t, rss = p.cpu_times(), p.memory_info().rss
            except psutil.Error:
                continue
            out[p.pid] = (t.user + t.system, rss)
        return out

    def _sample(self) -> None:
        tree = self._tree()
        for pid, (cpu, _) in tree.items():
            self._start_cpu.setdefault(pid, 0.0)  # a process born during the block started at zero
            self._cpu[pid] = max(self._cpu.get(pid, 0.0), cpu)
        total_rss = sum(rss for _, rss in tree.values())
        self.peak_rss = max(self.peak_rss, total_rss)
        self.rss_trace.append((round(time.perf_counter() - self._t0, 2), total_rss))

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self._sample()

    def __enter__(self) -> "Meter":
        self._start_cpu = {pid: cpu for pid, (cpu, _) in self._tree().items()}
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._loop, name="meter", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._sample()
        self.wall_s = time.perf_counter() - self._t0
        self._stop.set()
        self._thread.join()
        self.cpu_s = sum(v - self._start_cpu[pid] for pid, v in self._cpu.items())


def measure(fn: Callable[[], object]) -> dict:
    """Run ``fn`` once under a :class:`Meter`: wall seconds, CPU seconds and cores used."""
    with Meter() as m:
        fn()
    return {"wall_s": round(m.wall_s, 3), "cpu_s": round(m.cpu_s, 3), "cores_used": round(m.cpu_s / m.wall_s, 2)}


def summarise(runs: list[dict], clips: int) -> dict:
    """Median clips/s (wall) and CPU seconds per clip over repeated runs of ``clips`` clips, with every run kept."""
    return {
        "clips": clips,
        "clips_per_s": round(statistics.median(clips / r["wall_s"] for r in runs), 2),
        "cpu_s_per_clip": round(statistics.median(r["cpu_s"] / clips for r in runs), 5),
        "cores_used": round(statistics.median(r["cores_used"] for r in runs), 2),
        "runs": runs,
    }


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    """The machine and library versions the figures were measured with, and how busy the machine was."""
    import av
    import torch

    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cpu_features": [f for f in ("avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f" {f}" in flags],
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_default_threads": torch.get_num_threads(),
        "av": av.__version__,
        "ffmpeg_libavcodec": ".".join(map(str, av.library_versions["libavcodec"])),
        "apache_beam": _version("apache-beam"),
        "distributed": _version("distributed"),
        "numpy": _version("numpy"),
    }


def write_result(name: str, payload: dict, note: str) -> Path:
    """Write ``bench/results/<name>.json`` with the date, the exact command and the machine."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)  # None when not run with -m (a test, a console script)
    command = ["python", "-m", spec.name, *sys.argv[1:]] if spec else [sys.argv[0], *sys.argv[1:]]
    result = {
        "benchmark": name,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(shlex.quote(a) for a in command),
        "note": note,
        **payload,
        "machine": machine(),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def table(header: list[str], rows: list[list], widths: list[int]) -> str:
    """A plain text table, first column left-aligned, the rest right-aligned."""
    def line(cells):
        return "".join(f"{c!s:<{w}}" if i == 0 else f"{c!s:>{w}}" for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(header), *(line(r) for r in rows)])
