"""The Punzi-loss network core (issue 15): loss, split, artefact, numpy inference, toy training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from processors import mva
from workflows.train import dataset, fom

torch = pytest.importorskip("torch", reason="training needs torch: pip install -e '.[train]'")

from workflows.train import punzi  # noqa: E402
from workflows.train.cli import train  # noqa: E402

MASSES = (1.0, 2.0, 3.0)


def toy_eventlists(seed: int = 1, n_sig: int = 1500, n_bkg: int = 20000, w_bkg: float = 1.0):
    """Gaussian signal per mass (narrow peak in m, shifted in x1 and x2) over a flat, broad background."""
    rng = np.random.default_rng(seed)
    ev: dict[str, dict[str, np.ndarray]] = {}
    meta: dict[str, dict] = {}
    first = 0
    for m in MASSES:
        name = f"sig_m{m:g}"
        ev[name] = {"x1": rng.normal(1.5, 1.0, n_sig), "x2": rng.normal(m - 2.0, 0.7, n_sig),
                    "m": rng.normal(m, 0.05, n_sig), "weight": np.full(n_sig, 0.01), "run": np.ones(n_sig),
                    "event": np.arange(first, first + n_sig, dtype=float)}  # fmt: skip
        meta[name] = {"is_signal": True, "mass": m, "process": "toy"}
        first += n_sig
    ev["bkg"] = {"x1": rng.normal(0.0, 1.0, n_bkg), "x2": rng.normal(0.0, 1.5, n_bkg),
                 "m": rng.uniform(0.5, 3.5, n_bkg), "weight": np.full(n_bkg, w_bkg), "run": np.ones(n_bkg),
                 "event": np.arange(first, first + n_bkg, dtype=float)}  # fmt: skip
    meta["bkg"] = {"is_signal": False, "process": "bkg"}
    meta["data"] = {"is_data": True}
    ev["data"] = {k: v[:100] for k, v in ev["bkg"].items()}
    return ev, meta


@pytest.fixture(scope="module")
def table() -> dataset.Table:
    # enough background events (60k, weight 1/3) that the working point chosen on the validation fold
    # holds on the application fold (with 20k of weight 1 it did not: 0.20 -> 0.13)
    ev, meta = toy_eventlists(n_sig=4000, n_bkg=60_000, w_bkg=1 / 3)
    return dataset.build_table(ev, meta, ["x1", "x2"], ["m"])


# --------------------------------------------------------------------------- the loss


def _toy_range(table: dataset.Table, fold: int) -> dataset.RangeData:
    hyps = dataset.hypotheses(table, (0.5, 3.5), True, 2.0)
    return dataset.range_data(table, hyps, fold)


def test_punzi_loss_equals_direct_count_for_a_hard_score(table: dataset.Table) -> None:
    data = _toy_range(table, mva.FOLD_TRAIN)
    hard = (data.X[:, 0] > 0.8).astype(np.float64)  # a threshold "network": the score is 0 or 1
    s_mat, b_mat = punzi.punzi_matrices(data)
    got = punzi.punzi_fom(torch.as_tensor(hard, dtype=torch.float64), s_mat, b_mat, 3.0).numpy()
    # recount from the full table, independently of range_data: signal of each mass, and background of the
    # training fold with |m - centre| < halfwidth, both with x1 > 0.8
    tr = (table.fold == mva.FOLD_TRAIN) & ~table.is_signal
    for j, h in enumerate(data.hypotheses):
        sig = data.hyp == j
        eff = data.weight[sig & (hard > 0)].sum() / data.weight[sig].sum()
        b = table.weight[tr & (np.abs(table.obs[:, 0] - h.centre) < h.halfwidth) & (table.X[:, 0] > 0.8)].sum()
        assert got[j] == pytest.approx(eff / (1.5 + np.sqrt(b)), rel=1e-12)
        assert b > 10 and 0 < eff < 1  # background in every window, a real cut: the test is not trivial
    loss = punzi.punzi_loss(torch.as_tensor(hard), s_mat, b_mat, 3.0)
    assert float(loss) == pytest.approx(-got.sum(), rel=1e-12)
    assert np.allclose(got, fom.soft_fom(hard, data, 3.0), rtol=1e-12)  # numpy twin


def test_punzi_loss_gradient_signs(table: dataset.Table) -> None:
    data = _toy_range(table, mva.FOLD_TRAIN)
    s_mat, b_mat = punzi.punzi_matrices(data)
    score = torch.full((data.weight.size,), 0.5, dtype=torch.float64, requires_grad=True)
    punzi.punzi_loss(score, s_mat, b_mat, 3.0).backward()
    g = score.grad.numpy()
    sig, bkg_in = data.hyp >= 0, data.window.any(axis=1)
    assert np.all(g[sig] < 0)  # more signal kept lowers the loss
    assert np.all(g[bkg_in] > 0)  # more background in a window raises it
    assert np.all(g[~sig & ~bkg_in] == 0)


# --------------------------------------------------------------------------- the split


def test_event_number_split_is_deterministic_and_disjoint(table: dataset.Table) -> None:
    run = np.repeat(np.arange(1, 5), 25_000)
    event = np.tile(np.arange(25_000), 4)
    f1, f2 = mva.split_fold(run, event), mva.split_fold(run.astype(float), event.astype(float))
    assert np.array_equal(f1, f2)
    assert set(np.unique(f1)) == {0, 1, 2}
    assert np.all(np.abs(np.bincount(f1) / f1.size - 1 / 3) < 0.01)
    # a fold depends on (run, event) alone: shuffling the events does not move them
    perm = np.random.default_rng(0).permutation(run.size)
    assert np.array_equal(mva.split_fold(run[perm], event[perm]), f1[perm])
    # the training never sees an application event: the range inputs are drawn from their fold only
    key = table.run * 10**9 + table.event
    train_keys = set(key[table.fold == mva.FOLD_TRAIN])
    app_keys = set(key[table.fold == mva.FOLD_APPLICATION])
    assert train_keys and app_keys and not train_keys & app_keys
    data = _toy_range(table, mva.FOLD_TRAIN)
    assert data.X.shape[0] < np.count_nonzero(table.fold == mva.FOLD_TRAIN) + 1
    rows = {tuple(r) for r in table.X[table.fold == mva.FOLD_APPLICATION]}
    assert not any(tuple(r) in rows for r in data.X)
    rec = dataset.split_record(table)
    assert rec["scheme"] == mva.SPLIT_SCHEME and sum(rec["events"]["bkg"].values()) == 60_000
    assert "data" not in table.samples  # data never trains


def test_fold_weights_scale_to_the_full_luminosity(table: dataset.Table) -> None:
    i = table.samples.index("bkg")
    for f in range(mva.N_FOLDS):
        assert table.weight[(table.sample == i) & (table.fold == f)].sum() == pytest.approx(60_000 / 3)


# --------------------------------------------------------------------------- training, artefact, inference


@pytest.fixture(scope="module")
def trained(table: dataset.Table) -> dict[str, dict]:
    out = {}
    for loss in ("punzi", "bce"):
        cfg = punzi.TrainConfig(loss=loss, epochs=150, seed=3, threads=1)
        out[loss] = train(table, "toy", [(0.5, 3.5)], cfg, window_n_sigma=2.0)
    return out


def test_training_is_reproducible_with_a_seed(table: dataset.Table) -> None:
    cfg = punzi.TrainConfig(loss="punzi", epochs=20, seed=11, threads=1, hidden=(8,))
    a, b = (train(table, "toy", [(0.5, 2.5), (2.5, 3.5)], cfg) for _ in range(2))
    for na, nb in zip(a["networks"], b["networks"], strict=True):
        assert na["layers"] == nb["layers"]  # bit-identical weights
    c = train(table, "toy", [(0.5, 2.5), (2.5, 3.5)], punzi.TrainConfig(loss="punzi", epochs=20, seed=12,
                                                                       threads=1, hidden=(8,)))  # fmt: skip
    assert c["networks"][0]["layers"] != a["networks"][0]["layers"]
    assert [n["masses"] for n in a["networks"]] == [[1.0, 2.0], [3.0]]


def test_numpy_inference_equals_torch_and_is_chunk_independent(table: dataset.Table) -> None:
    for act in ("relu", "tanh", "sigmoid"):
        data = _toy_range(table, mva.FOLD_TRAIN)
        val = _toy_range(table, mva.FOLD_VALIDATION)
        res = punzi.train_network(data, val, punzi.TrainConfig(epochs=10, seed=1, threads=1, activation=act))
        net = mva.Network(features=("x1", "x2"), mean=res.mean, scale=res.scale, mass_range=(0.5, 3.5),
                          layers=tuple(mva.Layer(np.asarray(layer["weight"]), np.asarray(layer["bias"]),
                                                 layer["activation"]) for layer in res.layers))  # fmt: skip
        x = table.X
        ref = punzi.torch_score(res.model, x, res.mean, res.scale)
        got = net.score({"x1": x[:, 0], "x2": x[:, 1]})
        assert np.max(np.abs(got - ref)) < 1e-6
        chunks = np.concatenate([net.score({"x1": c[:, 0], "x2": c[:, 1]}) for c in np.array_split(x, 7)])
        assert np.array_equal(chunks, got)  # bit-identical whatever the chunking


def test_artefact_round_trip_and_errors(trained: dict[str, dict], table: dataset.Table, tmp_path: Path) -> None:
    from workflows.train import artefact

    doc = trained["punzi"]
    path = artefact.write(tmp_path / "mva.json", doc)
    art = mva.load(path, search="toy", features=["x2", "x1"])
    assert art.features == ("x1", "x2") and len(art.networks) == 1
    assert art.meta["a"] == 3.0 and art.meta["seed"] == 3 and "torch" in art.meta["libraries"]
    assert art.meta["split"]["scheme"] == mva.SPLIT_SCHEME
    assert set(art.networks[0].info["validation"]["fom_at_working_point"]) == {"sig_m1", "sig_m2", "sig_m3"}
    feats = {"x1": table.X[:, 0], "x2": table.X[:, 1]}
    assert art.score(feats, mass=2.0).shape == (table.X.shape[0],)

    with pytest.raises(mva.ArtefactError, match=r"b2dark train toy"):
        mva.load(path, features=["x1", "x3"])
    with pytest.raises(mva.ArtefactError, match=r"missing \['x2'\].*b2dark train"):
        art.networks[0].score({"x1": table.X[:, 0]})
    with pytest.raises(mva.ArtefactError, match="b2dark train"):
        art.score(feats, mass=7.0)
    with pytest.raises(mva.ArtefactError, match=r"not found.*b2dark train zprime-inv"):
        mva.load(tmp_path / "nothing.json", search="zprime-inv")
    with pytest.raises(mva.ArtefactError, match="trained for search 'toy'"):
        mva.load(path, search="zprime-inv")
    stale = json.loads(path.read_text())
    stale["networks"][0]["layers"][0]["bias"][0] += 1e-3  # edited after training
    (tmp_path / "stale.json").write_text(json.dumps(stale))
    with pytest.raises(mva.ArtefactError, match=r"digest.*b2dark train toy"):
        mva.load(tmp_path / "stale.json")
    # catalog digests: the toy has none recorded; a recorded one that differs is stale
    d2 = dict(doc)
    d2["training_samples"] = {**doc["training_samples"], "bkg": {**doc["training_samples"]["bkg"],
                                                                 "catalog_digest": "aaaa"}}  # fmt: skip
    d2["digest"] = mva.content_digest(d2)
    artefact.write(tmp_path / "d2.json", d2)
    mva.load(tmp_path / "d2.json", sample_digests={"bkg": "aaaa"})
    with pytest.raises(mva.ArtefactError, match=r"samples changed.*bkg.*b2dark train toy"):
        mva.load(tmp_path / "d2.json", sample_digests={"bkg": "bbbb"})


def _application_fom(doc: dict, table: dataset.Table, score_fn=None) -> float:
    """Summed FOM on the application fold at the validation working point (random: its best cut there)."""
    net = mva.from_document(doc).networks[0]
    hyps = tuple(dataset.Hypothesis(h["sample"], h["mass"], h["centre"], h["halfwidth"])
                 for h in doc["networks"][0]["hypotheses"])  # fmt: skip
    app = dataset.range_data(table, hyps, mva.FOLD_APPLICATION)
    if score_fn is not None:
        return float(fom.cut_scan(score_fn(app), app).fom.max(axis=0).sum())
    sel = net.selected({"x1": app.X[:, 0], "x2": app.X[:, 1]}).astype(np.float64)
    return float(fom.soft_fom(sel, app).sum())


def test_punzi_net_beats_random_and_matches_cross_entropy(trained: dict[str, dict], table: dataset.Table) -> None:
    f_punzi = _application_fom(trained["punzi"], table)
    f_bce = _application_fom(trained["bce"], table)
    rng = np.random.default_rng(5)
    f_random = _application_fom(trained["punzi"], table, lambda d: rng.uniform(size=d.weight.size))
    print(f"application-fold FOM summed over 3 masses: Punzi-net {f_punzi:.4f}, BCE {f_bce:.4f}, random {f_random:.4f}")
    assert f_punzi > 1.5 * f_random  # measured 1.84
    assert f_punzi >= 0.97 * f_bce
    # the validation record agrees with a recount at the working point
    v = trained["punzi"]["networks"][0]["validation"]
    assert all(v["fom_at_working_point"][s] >= v["fom_no_cut"][s] for s in v["fom_no_cut"])


def test_working_point_fom_floors_the_background_at_what_the_mc_can_show() -> None:
    """A cut that leaves no MC background in the window is worth no more than B = one MC event."""
    from workflows.train.dataset import Hypothesis, RangeData

    score = np.array([0.9, 0.8, 0.2, 0.1, 0.3, 0.5])  # two signal events above every background event
    hyp = np.array([0, 0, -1, -1, -1, -1])
    weight = np.array([1.0, 1.0, 10.0, 10.0, 10.0, 10.0])
    window = np.array([[False], [False], [True], [True], [True], [True]])
    data = RangeData(X=np.zeros((6, 1)), weight=weight, hyp=hyp, window=window,
                     hypotheses=(Hypothesis("s", 1.0, 1.0, 0.1),))  # fmt: skip
    tight = fom.cut_scan(score, data, a=3.0)
    naive = fom.cut_scan(score, data, a=3.0, mc_floor=False)
    i = int(np.flatnonzero(tight.background[:, 0] == 0)[0])  # the first cut that empties the window
    assert tight.eff[i, 0] == 1.0
    assert naive.fom[i, 0] == pytest.approx(1.0 / 1.5)
    assert tight.fom[i, 0] == pytest.approx(1.0 / (1.5 + np.sqrt(10.0)))  # w_max = 10
    assert tight.fom[0, 0] == pytest.approx(1.0 / (1.5 + np.sqrt(40.0 + np.sqrt(400.0))))  # B + sqrt(sum w^2)
