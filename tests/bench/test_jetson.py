"""tegrastats parsing on real lines from several Jetson generations, power summaries, and the sampler.

The lines are recorded tegrastats output quoted in public test suites:
- DataDog/datadog-agent, pkg/collector/corechecks/nvidia/jetson/jetson_test.go: `nanoSample` (Nano, L4T 32),
  `agXSample` (AGX Xavier), `xavierNxSample` (Xavier NX, L4T 32), `voltageUnitSample` (Orin NX/Nano with mW
  units), `r36Sample` (AGX Orin, L4T 36).
- waggle-sensor/jetson-exporter, tegrastats_test.go: Xavier NX on JetPack 5.1.2 (timestamp, mW units,
  `GR3D_FREQ 0%@[114]`).
- rbonghi/jetson_stats, tests of the JetPack 7 GR3D format: AGX Orin on L4T R39.2 (instant/avg/max triples,
  `GR3D_FREQ 12%@[1300,1300]`).
"""

from __future__ import annotations

import sys

import pytest

from edgeyolo.bench.jetson import TegrastatsSampler, parse_tegrastats, power_meter, summarize_power

NANO = (
    "RAM 534/3964MB (lfb 98x4MB) SWAP 5/1982MB (cached 1MB) IRAM 0/252kB(lfb 252kB) "
    "CPU [16%@204,9%@204,0%@204,0%@204] EMC_FREQ 0%@204 GR3D_FREQ 0%@76 APE 25 PLL@34C CPU@36.5C "
    "PMIC@100C GPU@36C AO@39.5C thermal@36.25C POM_5V_IN 1022/1022 POM_5V_GPU 0/0 POM_5V_CPU 204/204"
)
AGX_XAVIER = (
    "RAM 721/31927MB (lfb 7291x4MB) SWAP 0/15963MB (cached 0MB) "
    "CPU [2%@1190,0%@1190,0%@1190,0%@1190,off,off,off,off] EMC_FREQ 0%@665 GR3D_FREQ 0%@318 APE 150 "
    "MTS fg 0% bg 0% AO@37.5C GPU@37.5C Tdiode@40C PMIC@100C AUX@36C CPU@37.5C thermal@36.9C Tboard@37C "
    "GPU 0/0 CPU 311/311 SOC 932/932 CV 0/0 VDDRQ 621/621 SYS5V 1482/1482"
)
XAVIER_NX_L4T32 = (
    "RAM 4412/7772MB (lfb 237x4MB) SWAP 139/3886MB (cached 2MB) "
    "CPU [9%@1190,6%@1190,6%@1190,5%@1190,4%@1190,8%@1267] EMC_FREQ 10%@1600 GR3D_FREQ 62%@306 APE 150 "
    "MTS fg 0% bg 0% AO@41.5C GPU@43C PMIC@100C AUX@41.5C CPU@43.5C thermal@42.55C "
    "VDD_IN 4067/4067 VDD_CPU_GPU_CV 738/738 VDD_SOC 1353/1353"
)
XAVIER_NX_JP512 = (
    "07-09-2024 13:31:31 RAM 3168/6851MB (lfb 2x4MB) SWAP 161/3426MB (cached 0MB) "
    "CPU [23%@1397,17%@1192,16%@1190,13%@1190,23%@1190,10%@1190] EMC_FREQ 2%@204 GR3D_FREQ 0%@[114] "
    "VIC_FREQ 115 APE 150 AUX@45C CPU@46.5C thermal@45.6C AO@45C GPU@45.5C PMIC@50C "
    "VDD_IN 2763mW/2846mW VDD_CPU_GPU_CV 650mW/670mW VDD_SOC 650mW/711mW"
)
ORIN_NX = (
    "RAM 6334/15388MB (lfb 1770x4MB) SWAP 491/7694MB (cached 0MB) "
    "CPU [6%@729,9%@729,5%@729,16%@729,off,off,off,off] EMC_FREQ 0%@2133 GR3D_FREQ 0%@611 VIC_FREQ 729 "
    "APE 174 CV0@45.812C CPU@47.937C SOC2@46.093C SOC0@46.968C CV1@46.406C GPU@45.875C tj@48.875C "
    "SOC1@48.875C CV2@45.75C VDD_IN 5299mW/5299mW VDD_CPU_GPU_CV 773mW/773mW VDD_SOC 1424mW/1424mW"
)
AGX_ORIN_R36 = (
    "RAM 29114/30697MB (lfb 3x4MB)    SWAP 4915/15348MB (cached 1MB) "
    "CPU [3%@729,4%@729,0%@729,1%@729,0%@2201,100%@2201,1%@2201,0%@2201,100%@2201,0%@2201,0%@2201,0%@2201] "
    "EMC_FREQ 1%@2133 GR3D_FREQ 0%@[305,305] NVENC      off  NVDEC    off NVJPG off NVJPG1    off         "
    "VIC        off          OFA           off          NVDLA0    off       NVDLA1     off          "
    "PVA0_FREQ off         APE           174        cpu@53.062C soc2@48.25C soc0@48.843C  gpu@47.812C "
    "tj@53.062C soc1@48.968C    VDD_GPU_SOC 3205mW/3205mW VDD_CPU_CV 4405mW/4405mW VIN_SYS_5V0 4767mW/4767mW"
)
AGX_ORIN_JP7 = (
    "07-25-2026 09:08:28 RAM 20642/62817MB (lfb 1x2MB) "
    "CPU [23%@2201,10%@2201,4%@2201,14%@2201,30%@2201,18%@2201,10%@2201,10%@2201,33%@2201,7%@2201,5%@2201,"
    "27%@2201] EMC_FREQ 3%@3199 GR3D_FREQ 12%@[1300,1300] NVENC0 off NVDEC0 off NVJPG0 off NVJPG1 off "
    "VIC off OFA off NVDLA0 off NVDLA1 off PVA0_FREQ off APE 174 "
    "cpu@52.968C/52.968C soc2@48.406C/48.406C soc0@49.531C/49.531C gpu@47.625C/47.625C "
    "VDD_GPU_SOC 5139mW/5139mW/5139mW VDD_CPU_CV 3268mW/3268mW/3268mW VIN_SYS_5V0 5500mW/5500mW/5500mW"
)


@pytest.mark.parametrize(
    ("line", "rails", "source", "power", "gpu", "gpu_mhz", "emc", "emc_mhz", "ram"),
    [
        (
            NANO,
            {"POM_5V_IN": 1022, "POM_5V_GPU": 0, "POM_5V_CPU": 204},
            "POM_5V_IN",
            1022,
            0,
            76,
            0,
            204,
            534,
        ),
        (
            AGX_XAVIER,
            {"GPU": 0, "CPU": 311, "SOC": 932, "CV": 0, "VDDRQ": 621, "SYS5V": 1482},
            "sum(GPU,CPU,SOC,CV,VDDRQ,SYS5V)",
            3346,
            0,
            318,
            0,
            665,
            721,
        ),
        (
            XAVIER_NX_L4T32,
            {"VDD_IN": 4067, "VDD_CPU_GPU_CV": 738, "VDD_SOC": 1353},
            "VDD_IN",
            4067,
            62,
            306,
            10,
            1600,
            4412,
        ),
        (
            XAVIER_NX_JP512,
            {"VDD_IN": 2763, "VDD_CPU_GPU_CV": 650, "VDD_SOC": 650},
            "VDD_IN",
            2763,
            0,
            114,
            2,
            204,
            3168,
        ),
        (
            ORIN_NX,
            {"VDD_IN": 5299, "VDD_CPU_GPU_CV": 773, "VDD_SOC": 1424},
            "VDD_IN",
            5299,
            0,
            611,
            0,
            2133,
            6334,
        ),
        (
            AGX_ORIN_R36,
            {"VDD_GPU_SOC": 3205, "VDD_CPU_CV": 4405, "VIN_SYS_5V0": 4767},
            "sum(VDD_GPU_SOC,VDD_CPU_CV,VIN_SYS_5V0)",
            12377,
            0,
            305,
            1,
            2133,
            29114,
        ),
        (
            AGX_ORIN_JP7,
            {"VDD_GPU_SOC": 5139, "VDD_CPU_CV": 3268, "VIN_SYS_5V0": 5500},
            "sum(VDD_GPU_SOC,VDD_CPU_CV,VIN_SYS_5V0)",
            13907,
            12,
            1300,
            3,
            3199,
            20642,
        ),
    ],
    ids=[
        "nano",
        "agx-xavier",
        "xavier-nx-l4t32",
        "xavier-nx-jp5.1.2",
        "orin-nx",
        "agx-orin-r36",
        "agx-orin-jp7",
    ],
)
def test_parse_real_lines(line, rails, source, power, gpu, gpu_mhz, emc, emc_mhz, ram) -> None:
    s = parse_tegrastats(line)
    assert s.rails_mw == rails
    assert s.power_source == source
    assert s.power_mw == power
    assert (s.gpu_util, s.gpu_freq_mhz) == (gpu, gpu_mhz)
    assert (s.emc_util, s.emc_freq_mhz) == (emc, emc_mhz)
    assert s.ram_used_mb == ram


def test_line_without_rails_or_utilisation() -> None:
    s = parse_tegrastats("RAM 4722/7844MB (lfb 1x512kB) EMC_FREQ 2%@1866 GR3D_FREQ @[1000,1000,1000] APE 150")
    assert s.rails_mw == {} and s.power_mw is None and s.power_source is None
    assert s.gpu_util is None and s.gpu_freq_mhz == 1000


def test_summarize_power_gives_watts_and_energy_per_frame() -> None:
    samples = [parse_tegrastats(XAVIER_NX_L4T32), parse_tegrastats(ORIN_NX)]  # 4067 and 5299 mW
    p = summarize_power(samples, frames=200, seconds=4.0)
    assert p.avg_w == pytest.approx(4.683)
    assert p.mj_per_frame == pytest.approx(4.683 * 4.0 / 200 * 1000)
    assert p.gpu_util == pytest.approx(31.0)
    assert p.rails_avg_w["VDD_IN"] == pytest.approx(4.683)
    assert summarize_power([], 10, 1.0).avg_w is None


def _fake_tegrastats(line: str, interval: float = 0.02) -> list[str]:
    """A stand-in process that prints a recorded line every `interval` seconds, as tegrastats does."""
    code = f"import sys, time\nwhile True:\n    print({line!r}, flush=True)\n    time.sleep({interval})\n"
    return [sys.executable, "-c", code]


def test_sampler_collects_lines_from_a_process() -> None:
    with TegrastatsSampler(command=_fake_tegrastats(NANO)) as sampler:
        assert sampler.wait_for_samples(3, timeout=20)
    n = len(sampler.samples)
    assert all(s.power_mw == 1022 for s in sampler.samples)
    assert sampler._proc is None and len(sampler.samples) == n  # stopped: nothing more arrives


class _Runner:
    batch = 2

    def __init__(self) -> None:
        self.calls = 0

    def run(self):
        self.calls += 1


def test_power_meter_runs_the_model_while_sampling() -> None:
    runner = _Runner()
    power = power_meter(seconds=0.2, interval_ms=20, command=_fake_tegrastats(ORIN_NX))(runner)
    assert runner.calls > 0
    assert power["avg_w"] == pytest.approx(5.299)
    assert power["source"] == "VDD_IN"
    assert power["samples"] >= 2
    assert power["mj_per_frame"] > 0


def test_sampler_without_tegrastats_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(FileNotFoundError, match="not a Jetson"):
        TegrastatsSampler()
