"""Model-free discovery on the renderers, on files (grid or not), and through the CLI."""

import json
import math

import numpy as np
import pytest
import torch

from prodvae.cli import main
from prodvae.data import FactorSpec, get_dataset
from prodvae.data.files import write_dataset
from prodvae.discover.model import ModelFinding
from prodvae.discover.paths import factor_paths
from prodvae.discover.report import Discovery, Finding, discover_dataset
from prodvae.spaces import ProductSpace
from prodvae.train.build import auto_space

FAST = {"num_bases": 4, "samples": 32}


@pytest.mark.parametrize("name", ["torus", "sprites", "orbit"])
def test_renderers_show_their_declared_kinds(name):
    dataset = get_dataset(name, image_size=32)
    discovery = discover_dataset(dataset, seed=1, **FAST)
    assert [f.found for f in discovery.findings] == [s.kind for s in dataset.spec]
    assert all(f.symmetry == 1 and f.agrees and f.confidence == 1.0 for f in discovery.findings)
    assert discovery.warnings() == []
    # the proposed space is the one `model.space: auto` builds from the declared kinds
    assert discovery.space == auto_space(dataset)
    assert ProductSpace.parse(discovery.space.describe()) == discovery.space


def test_a_renderer_read_on_its_grid_values_only():
    dataset = get_dataset("torus", image_size=32, factor_sizes=(24, 24))
    discovery = discover_dataset(dataset, between=False, **FAST)
    assert [f.found for f in discovery.findings] == ["loop", "loop"]
    assert all(
        len(r.__dict__) and r.num_points == 24 for f in discovery.findings for r in f.readings
    )


def test_the_same_seed_gives_the_same_findings():
    dataset = get_dataset("sprites", image_size=16)
    first, second = (discover_dataset(dataset, seed=3, **FAST) for _ in range(2))
    assert first.to_json() == second.to_json()
    assert [f.evidence for f in first.findings] == [f.evidence for f in second.findings]


def propeller(angles, blades, size=24):
    """Images ``uint8 [n, size, size, 3]`` of a shape with ``blades``-fold symmetry at
    ``angles``: bright where ``cos(blades * (theta - angle))`` is high, inside a disc."""
    y, x = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]
    theta, radius = np.arctan2(y, x), np.hypot(x, y)
    angles = np.asarray(angles)[:, None, None]
    # an arm on one blade breaks nothing of the symmetry when blades > 1; with 1 it is a wedge
    level = 0.5 + 0.5 * np.cos(blades * (theta - angles))
    image = np.clip(level, 0, 1) * (radius < 0.9) * np.clip(3 * radius, 0, 1)
    return np.repeat((255 * image)[..., None], 3, axis=-1).astype(np.uint8)


def write_propellers(path, blades, declared_symmetry, declared_kind="loop", n=36):
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    sizes = np.array([0.6, 1.0])
    grid_angles, grid_sizes = (a.reshape(-1) for a in np.meshgrid(angles, sizes, indexing="ij"))
    images = propeller(grid_angles, blades)
    images = (images * grid_sizes[:, None, None, None]).astype(np.uint8)
    period = 2 * math.pi if declared_kind == "loop" else None
    spec = (
        FactorSpec("angle", declared_kind, (0.0,), period=period, symmetry=declared_symmetry)
        if declared_kind == "loop"
        else FactorSpec("angle", declared_kind, (0.0,)),
        FactorSpec("brightness", "segment", (0.0,)),
    )
    factors = np.c_[grid_angles, grid_sizes]
    return write_dataset(path, spec, len(factors), (3, 24, 24), iter([(images, factors)]))


@pytest.mark.parametrize("blades", [1, 2, 3, 4])
def test_a_files_symmetry_order_is_found(tmp_path, blades):
    from prodvae.data import from_file

    dataset = from_file(write_propellers(tmp_path / "p.h5", blades, blades))
    (finding,) = discover_dataset(dataset, factors=["angle"], **FAST).findings
    assert (finding.found, finding.symmetry) == ("loop", blades)
    assert finding.agrees


def test_a_symmetry_given_by_another_factor_outvotes_a_stray_path():
    """dSprites' orientation: the square repeats 4 times a turn, the ellipse 2, the heart 1.
    A small square whose turns barely show reads another order on one path of five; the
    orders still follow the shape (they held on every path before, or were not reported)."""
    from types import SimpleNamespace

    from prodvae.discover.report import _symmetry_given

    spec = (
        FactorSpec("shape", "points", (0.0, 1.0, 2.0)),
        FactorSpec("orientation", "loop", (0.0, 1.0), period=2 * math.pi),
        FactorSpec("scale", "segment", (0.5, 1.0)),
    )
    dataset = SimpleNamespace(spec=spec)

    def given(rows):  # rows: (shape, scale, order) of each loop path
        paths = [SimpleNamespace(base=np.array([s, 0, c])) for s, c, _ in rows]
        return _symmetry_given(dataset, 1, paths, [order for _, _, order in rows])

    clean = [(0, 1, 4)] * 4 + [(1, 0, 2), (1, 1, 2)] * 2 + [(2, 0, 1), (2, 1, 1)] * 2
    assert given(clean) == ("shape", (4, 2, 1))
    assert given(clean + [(0, 0, 2)]) == ("shape", (4, 2, 1))  # 12 of 13 paths
    # no order holds for most of the square's paths: not given by the shape
    assert given(clean + [(0, 0, 2)] * 4) is None
    # one order everywhere but stray paths: nothing given
    assert given([(s, c, 1) for s in range(3) for c in range(2)] + [(0, 0, 2)]) is None
    # no value's order holds for most of its paths: nothing given
    scattered = [(s, c, o) for s in range(3) for c in range(2) for o in (1, 2, 4)]
    assert given(scattered) is None
    # each shape's majority holds, but for 6 of 9 paths only: under GIVEN_SHARE (3/4)
    loose = [(0, 0, 4), (0, 1, 4), (0, 0, 2), (1, 0, 2), (1, 1, 2), (1, 0, 1)]
    assert given(loose + [(2, 0, 1), (2, 1, 1), (2, 0, 4)]) is None
    # two factors whose values decide it: the one that explains more paths (the scale, every
    # path; the shape, 14 of 15), though the shape comes first
    both = [(0, 0, 4)] * 6 + [(1, 1, 2)] * 6 + [(2, 0, 4)] * 2 + [(2, 1, 2)]
    assert given(both) == ("scale", (4, 2))
    # --json names it
    finding = Finding("orientation", "loop", "loop", 2, 1.0, symmetry_given=("shape", (4, 2, 1)))
    assert finding.as_json()["symmetry_given"] == {"factor": "shape", "orders": [4, 2, 1]}


def test_a_wrong_declaration_is_a_warning_that_names_the_factor(tmp_path):
    from prodvae.data import from_file

    dataset = from_file(write_propellers(tmp_path / "p.h5", 1, 1, declared_kind="segment"))
    discovery = discover_dataset(dataset, factors=["angle"], **FAST)
    (warning,) = discovery.warnings()
    assert "'angle'" in warning and "declared a segment" in warning and "loop" in warning
    assert discovery.space == ProductSpace.parse("loop")

    dataset = from_file(write_propellers(tmp_path / "q.h5", 4, 1))
    (warning,) = discover_dataset(dataset, factors=["angle"], **FAST).warnings()
    assert "'angle'" in warning and "repeat 4 times" in warning and "declared 1" in warning


def test_a_labelled_file_that_is_not_a_grid(tmp_path):
    # the two hands at random angles: rows matched on the other hand's level
    torus = get_dataset("torus", image_size=16)
    values = torus.sample_values(3000, torch.Generator().manual_seed(0))
    images = torus.render(values).permute(0, 2, 3, 1).numpy()
    spec = tuple(FactorSpec(s.name, "loop", (0.0,), period=s.period) for s in torus.spec)
    path = write_dataset(
        tmp_path / "t.h5", spec, len(values), (3, 16, 16), iter([(images, values.numpy())])
    )
    from prodvae.data import from_file

    dataset = from_file(path)
    assert not dataset.is_grid
    discovery = discover_dataset(dataset, **FAST)
    assert [f.found for f in discovery.findings] == ["loop", "loop"]


@pytest.mark.parametrize(
    ("make", "kinds"),
    [
        ("scattered", ["points", "loop", "segment", "segment"]),
        ("scattered_photo", ["loop", "loop", "segment"]),
    ],
)
def test_a_file_whose_rows_never_vary_a_factor_alone_is_read_on_mean_paths(tmp_path, make, kinds):
    # each row at values of its own (benchmarks.unseen): no two rows share the other factors,
    # so one row per binned level made a jagged path, and the turn read a segment
    from benchmarks import unseen

    from prodvae.data import from_file

    dataset = from_file(getattr(unseen, make)(tmp_path / f"{make}.npz"))
    assert not dataset.is_grid
    discovery = discover_dataset(dataset)
    assert [f.found for f in discovery.findings] == kinds
    assert [f.agrees for f in discovery.findings] == [True] * len(kinds)
    assert all(f.confidence >= 0.5 for f in discovery.findings)
    turn = [s.name for s in dataset.spec].index("turn")
    (path,) = factor_paths(dataset, turn, 1, torch.Generator().manual_seed(0))
    assert path.point_of is not None and len(path.values) == 16


def test_a_grid_with_rows_missing_is_still_read_on_its_rows(tmp_path):
    # rows that share the brightness vary the angle alone: paths of single rows, as before
    from prodvae.data import from_file

    full = from_file(write_propellers(tmp_path / "p.npz", 1, 1))
    keep = np.sort(np.random.default_rng(0).permutation(len(full))[: len(full) * 4 // 5])
    table = full.factors_at(keep).numpy()
    images = full.images_at(keep).permute(0, 2, 3, 1).numpy()
    path = write_dataset(
        tmp_path / "q.npz", full.spec, len(keep), (3, 24, 24), iter([(images, table)])
    )
    dataset = from_file(path)
    assert not dataset.is_grid
    paths = factor_paths(dataset, 0, 2, torch.Generator().manual_seed(0))
    assert all(p.point_of is None and len(p.values) == len(p.images) >= 25 for p in paths)
    (finding,) = discover_dataset(dataset, factors=["angle"], **FAST).findings
    assert (finding.found, finding.confidence) == ("loop", 1.0)


def _nearest_to(
    gap: np.ndarray, groups: list[np.ndarray], levels: np.ndarray, held: np.ndarray
) -> bool:
    """Whether each group of rows is its level's nearest (among the ``held`` rows) by
    ``gap``, each row's distance from a base row."""
    for mine in groups:
        others = np.setdiff1d(np.flatnonzero((levels == levels[mine[0]]) & held), mine)
        if gap[mine].max() > gap[others].min():
            return False
    return True


def test_a_mean_path_averages_the_rows_nearest_its_base_at_each_level(tmp_path):
    from prodvae.data import from_file
    from prodvae.data.matching import distinct_values, factor_levels
    from prodvae.discover.paths import MATCH_LEVELS, ROWS_PER_LEVEL

    # the loop `a` read, another loop `b` (of period 1) and a segment `d` at random values, a
    # points factor `c` of two: each image names its row, so the rows a path averaged can be
    # read back from its images
    rng = np.random.default_rng(0)
    n = 1200
    a, b, d = rng.uniform(0, 2 * math.pi, n), rng.uniform(0, 1, n), rng.uniform(0, 3, n)
    table = np.c_[a, b, rng.integers(0, 2, n), d]
    images = np.zeros((n, 4, 4, 3), np.uint8)
    images[:, 0, 0, 0], images[:, 0, 0, 1] = np.arange(n) // 256, np.arange(n) % 256
    spec = (
        FactorSpec("a", "loop", (0.0,), period=2 * math.pi),
        FactorSpec("b", "loop", (0.0,), period=1.0),
        FactorSpec("c", "points", (0.0, 1.0)),
        FactorSpec("d", "segment", (0.0,)),
    )
    path = write_dataset(tmp_path / "r.npz", spec, n, (3, 4, 4), iter([(images, table)]))
    dataset = from_file(path)
    levels = factor_levels(distinct_values(a, spec[0]), spec[0], MATCH_LEVELS).codes
    for found in factor_paths(dataset, 0, 8, torch.Generator().manual_seed(1)):
        assert found.point_of is not None
        assert np.bincount(found.point_of).tolist() == [ROWS_PER_LEVEL] * MATCH_LEVELS
        pixels = found.images[:, :, 0, 0].numpy().astype(np.int64)
        rows = pixels[:, 0] * 256 + pixels[:, 1]
        assert len(set(table[rows, 2])) == 1  # the points factor held
        # each point: one level's rows, its values' circular mean the point's value
        for point in range(MATCH_LEVELS):
            mine = rows[found.point_of == point]
            assert len(set(levels[mine])) == 1
            angle = np.angle(np.exp(1j * a[mine]).mean()) % (2 * math.pi)
            assert found.values[point] == pytest.approx(angle, abs=1e-9)
        assert np.all(np.diff(found.values) > 0)  # in order round the loop
        # nearest in b round its circle (a fraction of half its period) and in d (of its
        # range), to one of the rows averaged: the base
        groups = [rows[found.point_of == point] for point in range(MATCH_LEVELS)]
        same = table[:, 2] == table[rows[0], 2]

        def gap(base: int) -> np.ndarray:
            turn = np.abs(b - b[base]) % 1.0
            return np.hypot(np.minimum(turn, 1 - turn) / 0.5, (d - d[base]) / np.ptp(d))

        assert any(_nearest_to(gap(base), groups, levels, same) for base in rows)


def test_a_mean_path_holds_a_points_factor_of_many_values(tmp_path):
    # 20 objects are 20 points, not a scale: a path keeps one object, whatever its number
    from prodvae.data import from_file

    rng = np.random.default_rng(0)
    n = 2000
    table = np.c_[rng.uniform(0, 2 * math.pi, n), rng.integers(0, 20, n), rng.uniform(0, 1, n)]
    images = np.zeros((n, 4, 4, 3), np.uint8)
    images[:, 0, 0, 0], images[:, 0, 0, 1] = np.arange(n) // 256, np.arange(n) % 256
    spec = (
        FactorSpec("a", "loop", (0.0,), period=2 * math.pi),
        FactorSpec("object", "points", tuple(float(i) for i in range(20))),
        FactorSpec("d", "segment", (0.0,)),
    )
    path = write_dataset(tmp_path / "o.npz", spec, n, (3, 4, 4), iter([(images, table)]))
    dataset = from_file(path)
    for found in factor_paths(dataset, 0, 8, torch.Generator().manual_seed(0)):
        assert found.point_of is not None
        pixels = found.images[:, :, 0, 0].numpy().astype(np.int64)
        rows = pixels[:, 0] * 256 + pixels[:, 1]
        assert len(set(table[rows, 1])) == 1


def test_a_factor_its_held_factors_pin_falls_back_to_the_rows(tmp_path):
    # a 12 x 10 x 3 grid with one value of `c` left out of every (a, b) cell: rows that share
    # a and b take two values of c, never three; a mean path cannot be drawn (a and b, of
    # few values, are held), so c is read on those two-value rows as before, not left unread
    from prodvae.data import from_file

    cells = [(a, b, c) for a in range(12) for b in range(10) for c in range(3) if c != (a + b) % 3]
    table = np.asarray(cells, dtype=float)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (len(table), 4, 4, 3)).astype(np.uint8)
    spec = (
        FactorSpec("a", "segment", (0.0,)),
        FactorSpec("b", "segment", (0.0,)),
        FactorSpec("c", "segment", (0.0,)),
    )
    path = write_dataset(tmp_path / "g.npz", spec, len(table), (3, 4, 4), iter([(images, table)]))
    dataset = from_file(path)
    paths = factor_paths(dataset, 2, 4, torch.Generator().manual_seed(0))
    assert all(p.point_of is None and len(p.values) == 2 for p in paths)
    (finding,) = discover_dataset(dataset, factors=["c"], **FAST).findings
    assert finding.unread == "" and finding.confidence == 0.0 and finding.proposed == "segment"


def test_a_factor_its_copy_pins_is_not_read_by_name(tmp_path):
    # `c` and its copy `d` (three values each) at random `e`: no rows that share d and e take
    # two values of c, so neither a mean path nor the rows read it; `e` still reads
    from prodvae.data import from_file
    from prodvae.discover.paths import Untraceable, mean_paths

    rng = np.random.default_rng(0)
    n = 900
    c, e = rng.integers(0, 3, n).astype(float), rng.uniform(0, 1, n)
    y, x = np.mgrid[-1:1:8j, -1:1:8j]
    images = (255 * np.clip(1 - np.abs(x[None] - (2 * e[:, None, None] - 1)), 0, 1)).astype(
        np.uint8
    )
    images = np.repeat(images[..., None], 3, axis=-1)
    spec = (
        FactorSpec("c", "points", (0.0, 1.0, 2.0)),
        FactorSpec("d", "points", (0.0, 1.0, 2.0)),
        FactorSpec("e", "segment", (0.0,)),
    )
    table = np.c_[c, c, e]
    dataset = from_file(
        write_dataset(tmp_path / "c.npz", spec, n, (3, 8, 8), iter([(images, table)]))
    )
    with pytest.raises(Untraceable, match="'c': no rows that share the other points factors"):
        mean_paths(dataset, 0, 2, torch.Generator().manual_seed(0), table)
    c_read, d_read, e_read = discover_dataset(dataset, **FAST).findings
    assert "'c': no rows share all the other factors" in c_read.unread
    assert "cannot be varied alone" in c_read.unread
    assert "'d': no rows share all the other factors" in d_read.unread
    assert (e_read.found, e_read.unread) == ("segment", "")


def test_a_mean_path_of_many_values_is_read_on_at_most_max_points():
    from prodvae.discover.paths import FactorPath
    from prodvae.discover.reading import MAX_POINTS

    values = np.arange(300.0)
    point_of = np.repeat(np.arange(300), 2)  # two images a point, each naming its point
    images = torch.from_numpy(point_of.astype(np.uint8)).view(-1, 1, 1, 1)
    sub = FactorPath(values, images, np.zeros(1, np.int64), point_of).subsampled()
    assert len(sub.values) == MAX_POINTS and sub.point_of is not None
    assert np.bincount(sub.point_of).tolist() == [2] * MAX_POINTS
    # each image kept is averaged into the point of its own value
    assert np.array_equal(sub.images.view(-1).numpy(), sub.values[sub.point_of].astype(np.uint8))
    small = FactorPath(values[:16], images[:32], np.zeros(1, np.int64), point_of[:32])
    assert small.subsampled() is small


def write_tagged_propellers(path):
    """The propellers (a wedge turned once round, at two brightnesses) with a third factor,
    ``tag``, of three values that the images do not show."""
    from prodvae.data import from_file

    plain = from_file(write_propellers(path.with_suffix(".plain.npz"), 1, 1))
    images = plain.images_at(np.arange(len(plain))).permute(0, 2, 3, 1).numpy()
    factors = plain.factors_at(np.arange(len(plain))).numpy()
    tags = np.repeat(np.arange(3.0), len(plain))
    spec = (*plain.spec, FactorSpec("tag", "points", (0.0, 1.0, 2.0)))
    table = np.c_[np.tile(factors, (3, 1)), tags]
    stacked = np.tile(images, (3, 1, 1, 1))
    return write_dataset(path, spec, len(table), (3, 24, 24), iter([(stacked, table)]))


def test_a_factor_that_cannot_be_read_is_reported_and_the_others_read(tmp_path, capsys):
    from prodvae.data import from_file

    path = write_tagged_propellers(tmp_path / "t.npz")
    discovery = discover_dataset(from_file(path), **FAST)
    angle, brightness, tag = discovery.findings
    assert (angle.found, brightness.declared, tag.found, tag.confidence) == (
        "loop",
        "segment",
        "",
        0,
    )
    assert "its images never change" in tag.unread
    # the proposal keeps the declared kind of what it could not read
    assert tag.proposed == "points" and discovery.space == ProductSpace.parse(
        "loop * segment * points(3)"
    )
    (warning,) = [w for w in discovery.warnings() if "'tag'" in w]
    assert "never change" in warning and "keeps its declared kind" in warning
    assert (
        main(["discover", str(path), "--bases", "4", "--json", "--plot", str(tmp_path / "f")]) == 0
    )
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert rows[2] == {
        "name": "tag",
        "declared": "points",
        "found": "",
        "symmetry": 1,
        "confidence": 0.0,
        "unread": tag.unread,
    }
    assert "warning: factor 'tag'" in captured.err
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == ["angle.png", "brightness.png"]
    assert main(["discover", str(path), "--bases", "4"]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("tag")]
    assert line.split() == ["tag", "points", "-", "not", "read"]


def test_bad_requests_are_one_clear_error():
    dataset = get_dataset("torus", image_size=16, factor_sizes=(12, 1))
    with pytest.raises(ValueError, match="'short_hand' takes a single value"):
        discover_dataset(dataset, factors=["short_hand"])
    with pytest.raises(ValueError, match="unknown factor 'hand'"):
        discover_dataset(dataset, factors=["hand"])
    discovery = discover_dataset(dataset, **FAST)  # a constant factor is left out, and said so
    assert [f.name for f in discovery.findings] == ["long_hand"]
    assert discovery.constant == ("short_hand",)
    assert "not read (one value): short_hand" in discovery.table()
    with pytest.raises(ValueError, match="num_bases must be >= 1"):
        discover_dataset(dataset, num_bases=0)


def test_cli_table_json_and_plots(tmp_path, capsys):
    assert (
        main(["discover", "torus", "--bases", "3", "--samples", "24", "--plot", str(tmp_path)]) == 0
    )
    out = capsys.readouterr().out
    assert "long_hand        loop      loop" in out
    assert "proposed space: loop(radius=3.0, width=0.5)^2" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long_hand.png", "short_hand.png"]
    assert main(["discover", "torus", "--bases", "3", "--samples", "24", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [set(row) for row in rows] == [
        {"name", "declared", "found", "symmetry", "confidence"}
    ] * 2
    assert [(r["name"], r["found"], r["symmetry"]) for r in rows] == [
        ("long_hand", "loop", 1),
        ("short_hand", "loop", 1),
    ]


def test_an_unsure_reading_proposes_the_declared_kind(tmp_path, capsys):
    # brightness takes two values: two points and a segment's two ends alike (confidence 0),
    # so the proposal keeps its declared segment; the wedge's turn, read surely, is a loop
    path = write_propellers(tmp_path / "p.npz", 1, 1, declared_kind="segment")
    assert main(["discover", str(path), "--bases", "4"]) == 0
    out = capsys.readouterr().out
    (row,) = [line for line in out.splitlines() if line.startswith("brightness")]
    assert row.split()[1:4] == ["segment", "points", "-"] and row.endswith("?")
    assert "proposed space: loop(radius=3.0, width=0.5) * segment(" in out
    # a model's group proposes its followed factor's kind where its reading is unsure
    unsure = ModelFinding("z0", "euclidean", "points", 1, 0.2, size=2, follows_kind="segment")
    sure = ModelFinding("z1", "euclidean", "loop", 1, 0.9, size=8, follows_kind="segment")
    assert (unsure.proposed, sure.proposed) == ("segment", "loop")
    assert Discovery((unsure,), by_factor=(unsure, sure)).space == ProductSpace.parse(
        "segment * loop"
    )
    # a Euclidean group declares no kind to fall back on: the kind found stands
    assert Finding("z0", "euclidean", "points", 1, 0.2, size=3).proposed == "points"


def test_cli_errors(tmp_path, capsys):
    import h5py

    with h5py.File(tmp_path / "bare.h5", "w") as handle:
        handle["images"] = np.zeros((4, 8, 8, 3), np.uint8)
    assert main(["discover", str(tmp_path / "bare.h5")]) == 2
    assert "reads each image's factor values" in capsys.readouterr().err
    assert main(["discover", "nosuch"]) == 2
    assert "neither a dataset name" in capsys.readouterr().err
    assert main(["discover", "torus", "--bases", "0"]) == 2
    assert "--bases must be >= 1" in capsys.readouterr().err


def test_a_rendered_loop_of_few_values_is_read_once_round():
    # eight angles a hand: sampled from the first to the last, the eighth of a turn left out
    # kept the short hand's path open (a segment); sampled once round, both close
    dial = get_dataset("torus", image_size=32, factor_sizes=(8, 8))
    discovery = discover_dataset(dial, num_bases=4)
    assert [(f.name, f.found, f.confidence) for f in discovery.findings] == [
        ("long_hand", "loop", 1.0),
        ("short_hand", "loop", 1.0),
    ]
    (path, *_) = factor_paths(dial, 1, 1, torch.Generator().manual_seed(0))
    step = 2 * math.pi / len(path.values)
    assert path.values[0] == 0.0 and path.values[-1] == pytest.approx(2 * math.pi - step, abs=1e-12)
