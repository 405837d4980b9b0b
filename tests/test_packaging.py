"""The lock file, pyproject, environment.yml and Makefile stay consistent with each other."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins() -> dict:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            assert "==" in line, f"lock line not pinned exactly: {line!r}"
            name, version = line.split("==")
            pins[norm(name)] = version
    return pins


def requirement_names(reqs):
    return [norm(re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0]) for r in reqs]


def test_lock_pins_every_dependency_and_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = lock_pins()
    names = requirement_names(project["dependencies"])
    for extra, reqs in project["optional-dependencies"].items():
        if extra == "ray":                      # opt-in cluster executor, deliberately not locked
            continue
        names += [n for n in requirement_names(reqs) if n != "qhybrid"]
    missing = [n for n in names if n not in pins]
    assert not missing, f"requirements.lock lacks {missing}; run `make lock` after installing them"
    assert pins["torch"] == "2.13.0"


def test_environment_yml_installs_the_lock_and_the_package():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = env["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python="))
    assert project["requires-python"] == ">=" + python.split("=")[1]
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert "-r requirements.lock" in pip and "-e ." in pip
    torch_pin = next(p for p in pip if p.startswith("torch=="))
    assert torch_pin == "torch==" + lock_pins()["torch"], "environment.yml and the lock disagree on torch"


def test_makefile_installs_torch_first_from_the_lock_pin():
    make = (ROOT / "Makefile").read_text()
    torch_line = make.index(f"torch=={lock_pins()['torch']}")
    assert torch_line < make.index("-r requirements.lock")
    assert "pytest" in make.split("\ntest:")[1].split("\n\n")[0]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert readme.index("make run") < readme.index("make test") < 400
