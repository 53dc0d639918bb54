"""Docs pipeline checks that need no Quarto: README agrees with index.ipynb, the sidebar lists every notebook."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import docs_checks

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
    assert docs_checks.sidebar_problems(NBS) == []


def test_every_page_has_title_and_description():
    assert docs_checks.title_problems(NBS) == []


def test_internal_links_and_images_resolve():
    assert docs_checks.link_problems(NBS) == []


def test_cells_that_print_or_plot_are_committed_with_outputs():
    assert docs_checks.output_problems(NBS) == []


def test_notebooks_are_clean():
    assert docs_checks.clean_problems(NBS) == []


def test_every_exported_function_and_class_has_a_docstring():
    modules = [p.stem for p in (ROOT / "llms_from_scratch").glob("*.py") if not p.name.startswith("_")]
    assert len(modules) >= 10
    assert docs_checks.docstring_problems("llms_from_scratch", modules) == []


def test_checks_catch_a_broken_sidebar_link_title_and_missing_output(tmp_path):
    "The checks above fail on a deliberately broken copy of the sources."
    broken = tmp_path / "nbs"
    shutil.copytree(NBS, broken, symlinks=True)
    (broken / "sidebar.yml").write_text((broken / "sidebar.yml").read_text() + "      - 99_missing.ipynb\n")
    nb = json.loads((broken / "02_tokenizer.ipynb").read_text())
    md = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    md["source"] = ["Chapter 2 without a title; see [chapter 9](09_nowhere.ipynb) and ![a plot](img/none.png)"]
    printing = next(c for c in nb["cells"] if c["cell_type"] == "code" and "print(" in "".join(c["source"]))
    printing["outputs"] = []
    (broken / "02_tokenizer.ipynb").write_text(json.dumps(nb))
    assert docs_checks.sidebar_problems(broken) == ["sidebar lists 99_missing.ipynb, which does not exist"]
    assert docs_checks.title_problems(broken) == ["02_tokenizer.ipynb: first markdown cell has no '# Title'"]
    assert docs_checks.link_problems(broken) == ["02_tokenizer.ipynb: link to missing 09_nowhere.ipynb",
                                                 "02_tokenizer.ipynb: link to missing img/none.png"]
    assert len(docs_checks.output_problems(broken)) == 1


def test_every_notebook_with_code_was_run():
    assert docs_checks.unexecuted_problems(NBS) == []


def test_unexecuted_notebook_is_caught(tmp_path):
    broken = tmp_path / "nbs"
    shutil.copytree(NBS, broken, symlinks=True)
    nb = json.loads((broken / "03_attention.ipynb").read_text())
    for c in nb["cells"]:
        if c["cell_type"] == "code": c["outputs"] = []
    (broken / "03_attention.ipynb").write_text(json.dumps(nb))
    assert [p.split(":")[0] for p in docs_checks.unexecuted_problems(broken)] == ["03_attention.ipynb"]


def _modules():
    return sorted(p.stem for p in (ROOT / "llms_from_scratch").glob("*.py") if not p.name.startswith("_"))


def test_nbdev_processes_every_notebook_into_a_titled_page(tmp_path):
    "nbdev's docs pre-processing (what Quarto renders) runs without Quarto and titles every page."
    venv_bin = Path(sys.executable).parent  # nbdev_proc_nbs runs `pip install -e .[dev]` with the first pip on PATH
    env = {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    r = subprocess.run([str(venv_bin / "nbdev_proc_nbs")], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    for nb in docs_checks.notebooks(NBS):
        processed = json.loads((ROOT / "_proc" / nb.name).read_text())
        first = "".join(processed["cells"][0]["source"])
        assert first.startswith("---") and "title:" in first, f"{nb.name}: no front matter title after processing"
    # every exported function and class has an API entry whose [source] link lands on its definition
    assert docs_checks.show_doc_problems(ROOT / "_proc", ROOT, "llms_from_scratch", _modules()) == []
    # and the check notices a link that points elsewhere
    broken = tmp_path / "_proc"
    shutil.copytree(ROOT / "_proc", broken)
    page = json.loads((broken / "04_gpt.ipynb").read_text())
    for cell in page["cells"]:
        for out in cell.get("outputs", []):
            md = out.get("data", {}).get("text/markdown")
            if md and "### GPTModel" in "".join(md):
                out["data"]["text/markdown"] = [re.sub(r"gpt\.py#L\d+", "gpt.py#L1", "".join(md))]
    (broken / "04_gpt.ipynb").write_text(json.dumps(page))
    assert docs_checks.show_doc_problems(broken, ROOT, "llms_from_scratch", ["gpt"]) == [
        "gpt.GPTModel: [source] link points at line 1, not its definition"]
    # prose and docstring links on a backticked name lead to this page's own definition, not a namesake's
    assert docs_checks.doc_link_problems(ROOT / "_proc", ROOT, "llms_from_scratch", _modules()) == []
    page = json.loads((broken / "A2_ddp.ipynb").read_text())
    for cell in page["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = "".join(cell["source"]).replace("a2_ddp.html#main", "cli.html#main")
    (broken / "A2_ddp.ipynb").write_text(json.dumps(page))
    assert docs_checks.doc_link_problems(broken, ROOT, "llms_from_scratch", ["ddp"]) == [
        "A2_ddp: `main` links to https://llms-from-scratch.github.io/llms-from-scratch/cli.html, not to this page"]


def test_quarto_config_is_shared():
    link = NBS / "_quarto.yml"
    assert link.is_symlink() and link.resolve() == (ROOT / "_quarto.yml").resolve()


def test_readme_main_job_is_what_ci_runs():
    "The README's pretrain-and-generate command appears verbatim in .ci/run."
    main_job = next(b for b in _shell_blocks((ROOT / "README.md").read_text()) if "llms pretrain" in b)
    assert "llms generate" in main_job
    assert main_job in (ROOT / ".ci" / "run").read_text()
