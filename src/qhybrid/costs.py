"""What a run cost: wall and CPU seconds, peak memory, device, energy and CO2 (measured or estimated).

    meter = RunMeter(device="cpu", energy="estimate")   # or "codecarbon" (measured, offline) or "off"
    meter.start(); ...train...; part = meter.stop()      # one training session (a resume adds another)
    total = add_costs(previous, part)                     # sums over sessions, the peak is the max

energy="estimate" (the default, no extra package) states its assumptions next to the number: CPU
seconds x ESTIMATE_W_PER_CORE watts (a busy laptop/server core, package power shared out), and
GRID_KG_PER_KWH kg CO2 per kWh (a world-average grid). energy="codecarbon" uses CodeCarbon's
OfflineEmissionsTracker (the `energy` extra; RAPL or its TDP tables, country grid intensity, no
network) for the session. QPU seconds and jobs come from the backend (models' backend_usage()).
"""
from __future__ import annotations

import resource
import time

import torch

from ._optional import require

ESTIMATE_W_PER_CORE = 10.0          # watts per busy CPU core: an assumption, not a measurement
GRID_KG_PER_KWH = 0.475             # kg CO2 per kWh: world-average grid intensity (an assumption)
ENERGY_MODES = ("estimate", "codecarbon", "off")


def peak_memory_bytes(device: torch.device) -> int:
    """Peak memory so far: CUDA's allocator peak on a GPU, else the process' peak resident set size."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024      # Linux reports KiB


class RunMeter:
    """Measures one training session (start() ... stop()) of a run."""

    def __init__(self, device="cpu", energy: str = "estimate", country_iso_code: str = "USA"):
        if energy not in ENERGY_MODES:
            raise ValueError(f"train.energy must be one of {', '.join(ENERGY_MODES)}, got {energy!r}")
        self.device, self.energy, self.country = torch.device(device), energy, country_iso_code
        self._tracker = None

    def start(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        if self.energy == "codecarbon":
            cc = require("codecarbon")
            self._tracker = cc.OfflineEmissionsTracker(country_iso_code=self.country, save_to_file=False,
                                                       log_level="error", tracking_mode="process")
            self._tracker.start()

    def stop(self) -> dict:
        wall, cpu = time.perf_counter() - self._wall, time.process_time() - self._cpu
        out = {"wall_s": wall, "cpu_s": cpu, "device": str(self.device),
               "peak_memory_bytes": peak_memory_bytes(self.device), "energy_kwh": None, "co2_kg": None,
               "energy_method": "off"}
        if self.energy == "estimate":
            kwh = cpu * ESTIMATE_W_PER_CORE / 3.6e6
            out.update(energy_kwh=kwh, co2_kg=kwh * GRID_KG_PER_KWH,
                       energy_method=f"estimate: CPU s x {ESTIMATE_W_PER_CORE:g} W per core, "
                                     f"{GRID_KG_PER_KWH:g} kg CO2/kWh (assumed)")
        elif self.energy == "codecarbon":
            co2 = self._tracker.stop()
            data = self._tracker.final_emissions_data
            out.update(energy_kwh=float(data.energy_consumed), co2_kg=float(co2),
                       energy_method=f"codecarbon {require('codecarbon').__version__} offline ({self.country} grid)")
        return out


def add_costs(total: dict | None, part: dict) -> dict:
    """Costs of a run over its sessions: seconds, energy and CO2 add up; the memory peak is the max."""
    if not total:
        return dict(part)
    out = dict(part)
    for k in ("wall_s", "cpu_s", "energy_kwh", "co2_kg"):
        a, b = total.get(k), part.get(k)
        out[k] = None if a is None or b is None else a + b
    out["peak_memory_bytes"] = max(total.get("peak_memory_bytes") or 0, part.get("peak_memory_bytes") or 0)
    if total.get("energy_method") != part.get("energy_method"):
        out["energy_method"] = f"{total.get('energy_method')}; then {part.get('energy_method')}"
    return out

