"""The `b2dark` command line: fast --help, run options reach the run, errors are clear, inspect."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from workflow_helpers import TOY, make_fileset, write_events

from workflows import cli, outputs


def test_help_is_light() -> None:
    """`b2dark --help` must not import coffea/dask/pyhf/torch (subcommands are imported lazily)."""
    code = (
        "import sys; from workflows import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('coffea', 'dask', 'pyhf', 'distributed', 'matplotlib', 'torch') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "HEAVY []" in res.stdout
    for sub in ("generate", "run", "limits", "train", "inspect"):
        assert sub in res.stdout


def test_run_help_lists_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        cli.main(["run", "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for opt in (
        "--samples",
        "--executor",
        "--workers",
        "--chunksize",
        "--output",
        "--unblind",
        "--skip-bad-files",
        "--resume",
        "--run-options",
        "dask@local",
    ):
        assert opt in text
    assert "--processor" not in text  # no hidden processor override: a search is its declaration


def test_help_offers_exactly_the_declared_searches(capsys: pytest.CaptureFixture[str]) -> None:
    """`b2dark run --help` and `b2dark limits --help` list the declared searches and nothing else."""
    from processors.registry import names

    declared = names()
    assert "zprime-inv" in declared and TOY in declared  # the toy search of the tests is declared too
    for sub in ("run", "limits"):
        with pytest.raises(SystemExit):
            cli.main([sub, "--help"])
        text = capsys.readouterr().out
        positional = text.split("positional arguments:", 1)[1]
        offered = positional.split("{", 1)[1].split("}", 1)[0].split(",")
        assert offered == declared, (sub, offered)
    with pytest.raises(SystemExit):
        cli.main(["limits", "monophoton-not-declared", "--input", "x"])
    assert "invalid choice" in capsys.readouterr().err


def test_unknown_search_and_missing_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["run", "no-such-search"])
    assert "invalid choice" in capsys.readouterr().err
    previous = tmp_path / "out" / "summary.txt"  # an earlier run's results in the output folder
    previous.parent.mkdir()
    previous.write_text("earlier run\n")
    rc = cli.main(
        [
            "run",
            TOY,
            "--samples",
            str(tmp_path / "nope.yaml"),
            "--executor",
            "iterative",
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert rc == 1
    err = capsys.readouterr().err
    assert "nope.yaml not found" in err and "make samples" in err
    # a run that stops on its inputs must not destroy the previous results
    assert previous.read_text() == "earlier run\n"


def test_run_options_file_and_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A user YAML sets the chunk size, the command line overrides the executor; both land in provenance."""
    fileset = make_fileset(tmp_path / "in", files_per_sample=1, n=250)
    user = tmp_path / "opts.yaml"
    user.write_text("executor: futures\nchunksize: 100\nworkers: 1\n")
    out = tmp_path / "out"
    rc = cli.main(
        [
            "run",
            TOY,
            "--samples",
            str(fileset),
            "--output",
            str(out),
            "--run-options",
            str(user),
            "--executor",
            "iterative",
            "--no-plots",
            "--no-progress",
        ]
    )
    assert rc == 0
    stdout = capsys.readouterr().out
    assert "events: catalog 750 = processed 750 + skipped 0" in stdout
    assert "stage processing" in stdout and "== b2dark run summary" in stdout
    prov = json.loads((out / outputs.PROVENANCE_FILE).read_text())
    assert prov["options"]["run_options"]["executor"] == "iterative"
    assert prov["options"]["run_options"]["chunksize"] == 100
    assert prov["executor"]["n_chunks"] == 3 * 2  # 250 entries in chunks of ~100 -> 2 per file (coffea rounds)
    assert prov["command"][:3] == ["b2dark", "run", TOY]
    assert prov["git"]["revision"] is None or len(prov["git"]["revision"]) == 40
    assert {i["path"] for i in prov["inputs"]} == {str(p) for p in (tmp_path / "in").glob("*.root")}
    assert (out / "summary.txt").read_text().startswith("\n== b2dark run summary")


def test_search_sample_selection() -> None:
    """A shared catalog: zprime-inv takes its declared backgrounds, its own signals and ONE data sample,
    explicitly named; other searches' samples are left out; missing ones are errors naming the recipe."""
    from processors.registry import get
    from workflows.fileset import SampleSelectionError, select_samples

    def e(**m: object) -> dict:
        return {"files": {}, "metadata": m}

    bkg = {b: e(is_data=False, is_signal=False, process=b) for b in get("zprime-inv").backgrounds}
    fileset = {
        **bkg,
        "mumu_4trk": e(is_data=False, is_signal=False, process="mumu"),  # another search's pool of the same process
        "zprime_inv_m1": e(is_data=False, is_signal=True, process="zprime_inv", mass=1.0),
        "idm_m1": e(is_data=False, is_signal=True, process="idm", mass=1.0),
        "data_zprime_inv": e(is_data=True, is_signal=False),
        "data_zprime_inv_extra": e(is_data=True, is_signal=False),  # substring of the name: not taken
        "data_idm": e(is_data=True, is_signal=False),
    }
    sel = select_samples(get("zprime-inv"), fileset, "cat.yaml")
    assert set(sel.fileset) == {*bkg, "zprime_inv_m1", "data_zprime_inv"}
    assert sel.data == "data_zprime_inv" and "data_idm" in sel.ignored and "mumu_4trk" in sel.ignored
    with pytest.raises(SampleSelectionError, match="not declared"):
        select_samples(get("zprime-inv"), fileset, "cat.yaml", data="data_idm")
    del fileset["data_zprime_inv"]  # no own data: an error, never another search's data
    with pytest.raises(
        SampleSelectionError,
        match=r"lacks sample\(s\) of search zprime-inv: data_zprime_inv.*"
        r"samples/recipes/zprime_inv.yaml",
    ):
        select_samples(get("zprime-inv"), fileset, "cat.yaml")
    part = select_samples(get("zprime-inv"), fileset, "cat.yaml", partial=True)
    assert part.partial and part.data is None and part.missing == ["data_zprime_inv"]
    fileset["zprime_inv_m1_copy"] = e(is_data=False, is_signal=True, process="zprime_inv", mass=1.0)
    with pytest.raises(SampleSelectionError, match="same hypothesis"):
        select_samples(get("zprime-inv"), fileset, "cat.yaml", partial=True)


def test_inspect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write_events(tmp_path / "x.root", 7, seed=3, mc=False)
    assert cli.main(["inspect", str(f), "-n", "1"]) == 0
    text = capsys.readouterr().out
    assert "7 entries" in text and "Track_px" in text and "MCParticle_pdg" not in text


def test_no_progress_hides_coffea_bars(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--no-progress silences coffea's own bars too (coffea ignores status=False for them)."""
    fileset = make_fileset(tmp_path / "in", files_per_sample=1, n=120)
    base = ["run", TOY, "--samples", str(fileset), "--executor", "iterative", "--no-plots"]
    assert cli.main([*base, "--output", str(tmp_path / "shown"), "--progress"]) == 0
    shown = capsys.readouterr().out
    assert cli.main([*base, "--output", str(tmp_path / "hidden"), "--no-progress"]) == 0
    hidden = capsys.readouterr().out
    assert "Processing" in shown and "Preprocessing" in shown
    assert "Processing" not in hidden and "Preprocessing" not in hidden
    assert "== b2dark run summary" in hidden  # only the bars go


def test_samples_passes_replace_to_the_generator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`b2dark samples SEARCH --replace`: the refusal message of a changed recipe says --replace, so the
    samples command must take it (and pass it on with the search's recipe)."""
    import samples.cli

    seen: list[list[str]] = []
    monkeypatch.setattr(samples.cli, "main", lambda argv: seen.append(argv) or 0)
    assert cli.main(["samples", "zprime-inv", "--out", str(tmp_path), "--replace", "--no-progress"]) == 0
    assert cli.main(["samples", "zprime-inv", "--out", str(tmp_path), "--no-progress"]) == 0
    (first, second) = seen
    assert "--replace" in first and "--replace" not in second
    assert any(a.endswith("recipes/zprime_inv.yaml") for a in first)
