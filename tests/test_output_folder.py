"""The --output folder of `b2dark run` (issue 19): a run writes into DIR/.staging/ and moves its files in only
when complete, so a failed run keeps the previous results; it removes only files b2dark wrote (its manifest and
the limits stage's), never the user's; a second run into a folder whose lock is held is refused; an existing
file as --output is refused. The lock is held by this test process, not raced with timing."""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from workflow_helpers import TOY, make_fileset

from workflows import cli, outputs


def _run(fileset: Path, out: Path) -> list[str]:
    return ["run", TOY, "--samples", str(fileset), "--output", str(out), "--executor", "iterative", "--no-plots",
            "--no-progress"]  # fmt: skip


@pytest.fixture
def first_run(tmp_path: Path) -> tuple[Path, Path]:
    fileset = make_fileset(tmp_path / "in", files_per_sample=1, n=200)
    out = tmp_path / "out"
    assert cli.main(_run(fileset, out)) == 0
    return fileset, out


def test_rerun_removes_only_files_b2dark_wrote(first_run: tuple[Path, Path]) -> None:
    fileset, out = first_run
    assert sorted(os.listdir(out)) == sorted([*outputs.written_files(out), outputs.MANIFEST_FILE, outputs.LOCK_FILE])
    assert not (out / outputs.STAGING_DIR).exists()
    # The user's files, and files the limits stage wrote (recorded as `b2dark limits` records them).
    (out / "limits").mkdir()
    (out / "plots").mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "plots" / "my_fit.png").write_text("mine")
    (out / "limits" / "my_table.csv").write_text("mine")
    before = outputs.snapshot(out / "limits")
    (out / "limits" / "workspaces").mkdir()
    (out / "limits" / "workspaces" / "m1.json").write_text("{}")
    (out / "limits" / f"limits_{TOY}.csv").write_text("old limits")
    outputs.record_limits_files(out, before)
    assert outputs.written_files(out) >= {f"limits/limits_{TOY}.csv", "limits/workspaces/m1.json"}

    assert cli.main(_run(fileset, out)) == 0
    # The old limits were made from the old histograms: gone; everything the user put there stays.
    assert not (out / "limits" / f"limits_{TOY}.csv").exists() and not (out / "limits" / "workspaces").exists()
    for mine in ("notes.txt", "plots/my_fit.png", "limits/my_table.csv"):
        assert (out / mine).read_text() == "mine", mine
    assert (out / outputs.HISTS_FILE).is_file() and not (out / "limits" / outputs.MANIFEST_FILE).exists()


def test_failed_run_keeps_the_previous_results(
    first_run: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fileset, out = first_run
    old = {name: (out / name).read_bytes() for name in outputs.written_files(out)}

    def broken(*args: object, **kwargs: object) -> None:
        raise outputs.OutputFolderError("mass table failed (test)")  # a failure after the outputs were saved

    monkeypatch.setattr("workflows.masstable.mass_table", broken)
    assert cli.main(_run(fileset, out)) == 1
    assert capsys.readouterr().err == "b2dark run: error: mass table failed (test)\n"
    assert {name: (out / name).read_bytes() for name in outputs.written_files(out)} == old
    assert not (out / outputs.STAGING_DIR).exists()
    # A bad input file: stopped at the input checks, the previous results are still there as well.
    next(fileset.parent.glob("bkg_mumu_*.root")).unlink()
    assert cli.main(_run(fileset, out)) == 1
    assert {name: (out / name).read_bytes() for name in outputs.written_files(out)} == old


def test_second_run_into_a_locked_folder_is_refused(
    first_run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    fileset, out = first_run
    old = (out / outputs.HISTS_FILE).read_bytes()
    with open(out / outputs.LOCK_FILE, "w") as held:  # as a running `b2dark run` holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write(f"{os.getpid()}\n")
        held.flush()
        capsys.readouterr()
        assert cli.main(_run(fileset, out)) == 1
        assert capsys.readouterr().err == (
            f"b2dark run: error: --output {out} is being written by another `b2dark run` (pid {os.getpid()} holds "
            f"{out / outputs.LOCK_FILE}); wait for it to finish or choose another --output\n"
        )
        assert (out / outputs.HISTS_FILE).read_bytes() == old
    assert cli.main(_run(fileset, out)) == 0  # released: the next run goes ahead


def test_existing_file_as_output_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fileset = make_fileset(tmp_path / "in", files_per_sample=1, n=50)
    target = tmp_path / "results.txt"
    target.write_text("not a folder")
    assert cli.main(_run(fileset, target)) == 1
    assert capsys.readouterr().err == (
        f"b2dark run: error: --output {target} is a file, not a folder; give a folder (it is created if missing)\n"
    )
    assert target.read_text() == "not a folder"
