"""Where the in-process model runs and in what precision: the ``device`` and ``dtype`` settings.

``auto`` picks what the model card would: CUDA in bfloat16 (float16 on GPUs without
bfloat16), spread over every GPU with ``device_map="auto"`` when there are several
(the 24B model needs about 55 GB in bfloat16); Apple's MPS in bfloat16 where it
works, else float16; otherwise the CPU in float32 (bfloat16 matmuls are slow on most
CPUs). Either can be set explicitly. ``choose`` is pure; ``probe`` asks torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BYTES_PER_PARAM = {"bfloat16": 2, "float16": 2, "float32": 4}


class PlacementError(ValueError):
    """The chosen device does not exist on this machine."""


@dataclass(frozen=True)
class Hardware:
    """What torch can see."""

    cuda_count: int = 0
    cuda_bf16: bool = False
    mps: bool = False
    mps_bf16: bool = False


@dataclass(frozen=True)
class Placement:
    """The device (``cuda:0``, ``mps``, ``cpu``; ``cuda`` when spread over GPUs) and dtype."""

    device: str
    dtype: str
    spread: bool = False  # device_map="auto" over several GPUs

    @property
    def device_map(self) -> str | None:
        return "auto" if self.spread else None

    def describe(self) -> str:
        return f"{self.device} (spread over the GPUs)" if self.spread else self.device


def choose(device: str, dtype: str, hw: Hardware) -> Placement:
    """The placement for the settings on this hardware; raises ``PlacementError``."""
    spread = False
    if device == "auto":
        if hw.cuda_count > 1:
            chosen, spread = "cuda", True
        elif hw.cuda_count == 1:
            chosen = "cuda:0"
        elif hw.mps:
            chosen = "mps"
        else:
            chosen = "cpu"
    elif device == "cuda" or device.startswith("cuda:"):
        index = int(device.partition(":")[2] or 0)
        if hw.cuda_count == 0:
            raise PlacementError(f"device {device!r} asked for, but torch sees no CUDA GPU")
        if index >= hw.cuda_count:
            raise PlacementError(f"device {device!r} asked for, but torch sees {hw.cuda_count} GPU(s)")
        chosen = f"cuda:{index}"
    elif device == "mps":
        if not hw.mps:
            raise PlacementError("device 'mps' asked for, but torch's MPS backend is not available here")
        chosen = "mps"
    else:
        chosen = "cpu"
    if dtype == "auto":
        if chosen.startswith("cuda"):
            dtype = "bfloat16" if hw.cuda_bf16 else "float16"
        elif chosen == "mps":
            dtype = "bfloat16" if hw.mps_bf16 else "float16"
        else:
            dtype = "float32"
    return Placement(chosen, dtype, spread)


def probe() -> Hardware:
    """What this machine's torch offers (imports torch)."""
    import torch

    cuda_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    cuda_bf16 = bool(cuda_count and torch.cuda.is_bf16_supported())
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    mps_bf16 = False
    if mps:
        try:
            torch.ones(1, dtype=torch.bfloat16, device="mps")
            mps_bf16 = True
        except (RuntimeError, TypeError):
            mps_bf16 = False
    return Hardware(cuda_count, cuda_bf16, mps, mps_bf16)


def free_bytes(placement: Placement) -> int | None:
    """Memory free for weights on the placement's device(s), when torch or the OS says."""
    import torch

    try:
        if placement.device.startswith("cuda"):
            indices = range(torch.cuda.device_count()) if placement.spread else [int(placement.device[5:] or 0)]
            return sum(int(torch.cuda.mem_get_info(i)[0]) for i in indices)
        if placement.device == "mps":
            limit: Any = getattr(torch.mps, "recommended_max_memory", None)
            return int(limit()) if callable(limit) else None
    except Exception:  # noqa: BLE001 - unknown is fine: the load itself will tell
        return None
    return _available_ram()


def _available_ram() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None
