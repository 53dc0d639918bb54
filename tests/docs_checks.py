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


def unexecuted_problems(nbs: Path) -> list[str]:
    "A notebook with code the tests run must show some output, unless its first markdown cell says `<!-- prose-only -->`."
    problems = []
    for nb in notebooks(nbs):
        cells = _cells(nb)
        first_md = next((_source(c) for c in cells if c["cell_type"] == "markdown"), "")
        runnable = [c for c in cells if c["cell_type"] == "code" and not any(
            l.strip().startswith(SKIP_FLAGS + DEFINES + ("#| hide",)) for l in _source(c).splitlines() if l.startswith("#|"))]
        if runnable and not any(c.get("outputs") for c in cells) and "<!-- prose-only -->" not in first_md:
            problems.append(f"{nb.name}: {len(runnable)} code cells but no outputs at all: run it before committing")
    return problems


SOURCE_LINK = re.compile(r"\[source\]\((\S+?)/blob/[^/]+/(\S+?\.py)#L(\d+)\)")


def show_doc_problems(proc: Path, root: Path, package: str, modules: list[str]) -> list[str]:
    """Every exported function and class has an API entry (nbdev's `show_doc`) on its notebook's processed page,
    whose [source] link points at the line of the module that defines it."""
    problems = []
    for name in modules:
        module = importlib.import_module(f"{package}.{name}")
        py = root / package / f"{name}.py"
        lines = py.read_text().splitlines()
        origin = re.search(r"^# %% \.\./nbs/(\S+\.ipynb)", "\n".join(lines), flags=re.M)
        if not origin: continue
        page = json.loads((proc / origin.group(1)).read_text())
        docs = ["".join(o.get("data", {}).get("text/markdown", [])) for c in page["cells"] for o in c.get("outputs", [])]
        for symbol in getattr(module, "__all__", []):
            obj = getattr(module, symbol)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or getattr(obj, "__module__", None) != module.__name__:
                continue
            entry = next((d for d in docs if re.search(rf"^#+ {re.escape(symbol)}\s*$", d, flags=re.M)), None)
            if entry is None:
                problems.append(f"{name}.{symbol}: no API entry on {origin.group(1)}")
                continue
            link = SOURCE_LINK.search(entry)
            if link is None or link.group(2) != f"{package}/{name}.py":
                problems.append(f"{name}.{symbol}: API entry has no [source] link to {package}/{name}.py")
                continue
            at = int(link.group(3)) - 1
            window = [l.strip() for l in lines[at:at + 4]]  # decorators may come first
            if not any(re.match(rf"(async\s+)?(def|class)\s+{re.escape(symbol)}\b", l) for l in window):
                problems.append(f"{name}.{symbol}: [source] link points at line {at + 1}, not its definition")
    return problems


DOC_LINK = re.compile(r"\[`([\w.]+)`\]\((\S+?)\.html#")


def doc_link_problems(proc: Path, root: Path, package: str, modules: list[str]) -> list[str]:
    "On each module's page, a link on a backticked name that the module defines must lead to that page, not a namesake's."
    problems = []
    for name in modules:
        py = root / package / f"{name}.py"
        text = py.read_text()
        origin = re.search(r"^# %% \.\./nbs/(\S+)\.ipynb", text, flags=re.M)
        if not origin: continue
        defined = {m for m in re.findall(r"^(?:async\s+)?(?:def|class)\s+(\w+)", text, flags=re.M)}
        page = json.loads((proc / f"{origin.group(1)}.ipynb").read_text())
        sources = [_source(c) for c in page["cells"] if c["cell_type"] == "markdown"]
        sources += ["".join(o.get("data", {}).get("text/markdown", [])) for c in page["cells"] for o in c.get("outputs", [])]
        for src in sources:
            for symbol, url in DOC_LINK.findall(src):
                page_name = re.sub(r"^\d+[a-z]*_", "", origin.group(1)).lower()  # nbdev drops a leading number: 02a_bpe -> bpe.html
                if symbol in defined and not url.endswith("/" + page_name):
                    problems.append(f"{origin.group(1)}: `{symbol}` links to {url}.html, not to this page")
    return sorted(set(problems))
