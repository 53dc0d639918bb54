"""Checks of the book site's sources that need no Quarto; each returns a list of problems (empty: fine)."""
import importlib
import inspect
import json
import re
from pathlib import Path

SKIP_FLAGS = ("#| download", "#| cuda", "#| eval: false")  # cells the tests never run
DEFINES = ("#| export",)  # also matches "#| exports": cells that define, and print nothing themselves
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def notebooks(nbs: Path) -> list[Path]:
    return sorted(p for p in nbs.glob("*.ipynb") if not p.name.startswith("_"))


def _cells(nb_path: Path) -> list[dict]:
    return json.loads(nb_path.read_text())["cells"]


def _source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def sidebar_problems(nbs: Path) -> list[str]:
    listed = re.findall(r"^\s*-\s*(\S+\.ipynb)\s*$", (nbs / "sidebar.yml").read_text(), flags=re.M)
    names = {p.name for p in notebooks(nbs)}
    problems = [f"sidebar lists {n}, which does not exist" for n in listed if n not in names]
    problems += [f"{n} is not in the sidebar" for n in sorted(names - set(listed))]
    problems += [f"sidebar lists {n} twice" for n in sorted({n for n in listed if listed.count(n) > 1})]
    return problems


def title_problems(nbs: Path) -> list[str]:
    problems = []
    for nb in notebooks(nbs):
        first = next((_source(c) for c in _cells(nb) if c["cell_type"] == "markdown"), "")
        lines = [l for l in first.splitlines() if l.strip()]
        if not lines or not lines[0].startswith("# "): problems.append(f"{nb.name}: first markdown cell has no '# Title'")
        elif len(lines) < 2 or not lines[1].startswith("> "): problems.append(f"{nb.name}: no '> description' under the title")
    return problems


def link_problems(nbs: Path) -> list[str]:
    problems = []
    for nb in notebooks(nbs):
        for cell in _cells(nb):
            if cell["cell_type"] != "markdown": continue
            for target in LINK.findall(_source(cell)):
                if re.match(r"^(https?:|mailto:|#)", target): continue
                if not (nbs / target.split("#")[0]).exists(): problems.append(f"{nb.name}: link to missing {target}")
    return problems


def output_problems(nbs: Path) -> list[str]:
    "Cells that print or plot must be committed with their outputs (cells the tests never run excepted)."
    problems = []
    for nb in notebooks(nbs):
        for i, cell in enumerate(_cells(nb)):
            src = _source(cell)
            directives = [l.strip() for l in src.splitlines() if l.startswith("#|")]
            if cell["cell_type"] != "code" or any(d.startswith(SKIP_FLAGS + DEFINES) for d in directives): continue
            if ("print(" in src or "plt.show()" in src) and not cell.get("outputs"):
                problems.append(f"{nb.name}: cell {i} prints or plots but has no committed output")
    return problems


def clean_problems(nbs: Path) -> list[str]:
    problems = []
    for nb in notebooks(nbs):
        data = json.loads(nb.read_text())
        if set(data.get("metadata", {})) - {"kernelspec"}: problems.append(f"{nb.name}: notebook metadata not cleaned")
        if any(c.get("execution_count") is not None for c in data["cells"] if c["cell_type"] == "code"):
            problems.append(f"{nb.name}: execution counts not cleaned")
    return problems


def docstring_problems(package: str, modules: list[str]) -> list[str]:
    problems = []
    for name in modules:
        module = importlib.import_module(f"{package}.{name}")
        for symbol in getattr(module, "__all__", []):
            obj = getattr(module, symbol)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and not inspect.getdoc(obj):
                problems.append(f"{name}.{symbol} has no docstring")
    return problems
