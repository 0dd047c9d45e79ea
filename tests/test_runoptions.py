"""Layered run options: defaults < site YAML < user YAML < CLI, strict keys with file names in errors."""

from pathlib import Path

import pytest
import yaml

from workflows.runoptions import SITES_DIR, RunOptions, RunOptionsError, load_run_options


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_defaults_without_layers():
    opts = load_run_options()
    assert opts == RunOptions()
    assert opts.executor == "futures"
    assert opts.chunksize == 100_000


@pytest.mark.parametrize("site", sorted(p.stem for p in SITES_DIR.glob("*.yaml")))
def test_every_shipped_site_validates(site):
    opts = load_run_options(site=site)
    assert opts.site == site
    assert opts.executor.startswith("dask@")


def test_site_at_least_slurm_condor_local_exist():
    assert {"local", "slurm", "condor"} <= {p.stem for p in SITES_DIR.glob("*.yaml")}


def test_layer_order_site_user_cli(tmp_path):
    site = _write(
        tmp_path / "site.yaml",
        {"executor": "dask@slurm", "chunksize": 1000, "cluster": {"cores": 4, "memory": "8GB", "queue": "long"}},
    )
    user = _write(tmp_path / "user.yaml", {"chunksize": 2000, "cluster": {"memory": "4GB"}})
    opts = load_run_options(site=str(site), user_file=user, cli={"chunksize": None, "cluster.queue": "short"})
    assert opts.executor == "dask@slurm"  # from the site
    assert opts.chunksize == 2000  # user beats site; a None CLI value is "flag not given"
    assert opts.cluster.cores == 4  # site value survives the nested user merge
    assert opts.cluster.memory == "4GB"  # user beats site inside a nested section
    assert opts.cluster.queue == "short"  # CLI beats everyone
    opts = load_run_options(site=str(site), user_file=user, cli={"chunksize": 3000})
    assert opts.chunksize == 3000


def test_user_file_can_name_its_site(tmp_path):
    user = _write(tmp_path / "user.yaml", {"site": "condor", "cluster": {"jobs": 7}})
    opts = load_run_options(user_file=user)
    assert opts.executor == "dask@condor"
    assert opts.cluster.jobs == 7
    assert opts.cluster.disk == load_run_options(site="condor").cluster.disk


def test_unknown_key_names_key_and_file(tmp_path):
    user = _write(tmp_path / "mine.yaml", {"chunk_size": 10})
    with pytest.raises(RunOptionsError, match=r"mine\.yaml.*unknown key 'chunk_size'"):
        load_run_options(user_file=user)


def test_unknown_nested_key_names_dotted_path(tmp_path):
    site = _write(tmp_path / "badsite.yaml", {"cluster": {"partition": "x"}})
    with pytest.raises(RunOptionsError, match=r"badsite\.yaml.*unknown key 'cluster\.partition'"):
        load_run_options(site=str(site))


def test_bad_type_and_bad_executor(tmp_path):
    user = _write(tmp_path / "u.yaml", {"cluster": {"cores": "many"}})
    with pytest.raises(RunOptionsError, match=r"u\.yaml.*cluster\.cores"):
        load_run_options(user_file=user)
    with pytest.raises(RunOptionsError, match=r"command-line options.*executor"):
        load_run_options(cli={"executor": "dask@pbs"})
    with pytest.raises(RunOptionsError, match=r"command-line options.*unknown key 'wokers'"):
        load_run_options(cli={"wokers": 3})


def test_missing_files_and_sites(tmp_path):
    with pytest.raises(RunOptionsError, match="does not exist"):
        load_run_options(user_file=tmp_path / "nope.yaml")
    with pytest.raises(RunOptionsError, match=r"unknown site 'nosuchsite'.*known sites"):
        load_run_options(site="nosuchsite")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(RunOptionsError, match="mapping"):
        load_run_options(user_file=tmp_path / "list.yaml")


def test_chunksize_per_sample(tmp_path):
    user = _write(tmp_path / "u.yaml", {"chunksize": 5000, "chunksize_per_sample": {"eemumu": 20000}})
    opts = load_run_options(user_file=user)
    assert opts.chunksize_for("eemumu") == 20000
    assert opts.chunksize_for("mumu") == 5000
    with pytest.raises(RunOptionsError, match="chunksize_per_sample"):
        load_run_options(cli={"chunksize_per_sample": {"x": 0}})


def test_tcp_executor_and_json_dump():
    opts = load_run_options(cli={"executor": "dask@tcp://10.0.0.1:8786"})
    dumped = opts.model_dump(mode="json")
    assert dumped["executor"] == "dask@tcp://10.0.0.1:8786"
    assert RunOptions.model_validate(dumped) == opts
