"""Docs pipeline checks that need no Quarto: README agrees with index.ipynb, the sidebar lists every notebook."""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"


def _shell_blocks(markdown: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", markdown, flags=re.S)]


def _index_markdown() -> str:
    nb = json.loads((NBS / "index.ipynb").read_text())
    return "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_readme_commands_match_index():
    readme, index = _shell_blocks((ROOT / "README.md").read_text()), _shell_blocks(_index_markdown())
    assert readme and readme == index


def test_readme_test_command_is_what_ci_runs():
    "The README's set-up-and-test command appears verbatim in .ci/run."
    test_cmd = next(b for b in _shell_blocks((ROOT / "README.md").read_text()) if "pytest" in b)
    assert test_cmd in (ROOT / ".ci" / "run").read_text()


def test_sidebar_lists_every_notebook_and_nothing_else():
    sidebar = re.findall(r"^\s*-\s*(\S+\.ipynb)\s*$", (NBS / "sidebar.yml").read_text(), flags=re.M)
    notebooks = sorted(p.name for p in NBS.glob("*.ipynb") if not p.name.startswith("_"))
    assert len(sidebar) == len(set(sidebar)), "a notebook is listed twice"
    assert sorted(sidebar) == notebooks


def test_quarto_config_is_shared():
    link = NBS / "_quarto.yml"
    assert link.is_symlink() and link.resolve() == (ROOT / "_quarto.yml").resolve()


def test_readme_main_job_is_what_ci_runs():
    "The README's pretrain-and-generate command appears verbatim in .ci/run."
    main_job = next(b for b in _shell_blocks((ROOT / "README.md").read_text()) if "llms pretrain" in b)
    assert "llms generate" in main_job
    assert main_job in (ROOT / ".ci" / "run").read_text()
