"""The agents package's public face is exactly its documented names."""

import subprocess
import sys

import agents


def test_all_lists_every_public_name_once() -> None:
    assert len(agents.__all__) == len(set(agents.__all__))  # ruff (RUF022) keeps it sorted
    modules = {
        "calibration",
        "embedders",
        "errors",
        "evaluation",
        "index",
        "labelled",
        "llm",
        "matcher",
        "specifics",
        "thresholds",
    }
    public = {name for name in vars(agents) if not name.startswith("_")} - modules
    assert set(agents.__all__) == public


def test_importing_the_package_loads_no_model_runtime_or_client() -> None:
    code = "import sys, agents; print('onnxruntime' in sys.modules, 'openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
