import math

import numpy as np

from prodvae.bench import markdown_table, summarise, summary_rows

HEADLINE = {"mig": "MIG", "sap": "SAP"}


def record(variant, seed, mig, sap=None, status="finished", dataset="torus"):
    metrics = {"mig": mig} if sap is None else {"mig": mig, "sap": sap}
    return {
        "dataset": dataset,
        "variant": variant,
        "seed": seed,
        "status": status,
        "metrics": metrics,
    }


RECORDS = [
    record("product", 0, 0.2, 0.1),
    record("product", 1, 0.4, 0.3),
    record("product", 2, 0.9, None),  # a cell without SAP: left out of the SAP mean
    record("beta_vae", 0, 0.5, 0.6),
    record("beta_vae", 1, 0.7, 0.8),
    record("beta_vae", 2, 123.0, 9.0, status="nonfinite"),  # diverged: left out
    record("qlae", 0, None),  # a metric that came out NaN -> null
    record("tilted", 0, 0.3, 0.3, status="failed"),  # no finished seed at all
]
VARIANTS = ["product", "beta_vae", "qlae", "tilted"]


def test_mean_and_sample_std_by_hand():
    rows = {row["variant"]: row for row in summary_rows(RECORDS, ["torus"], VARIANTS, HEADLINE)}
    mig = rows["product"]["mig"]
    # (0.2 + 0.4 + 0.9) / 3 = 0.5; deviations -0.3, -0.1, 0.4 -> sum of squares 0.26 over 2
    assert math.isclose(mig.mean, 0.5) and math.isclose(mig.std, math.sqrt(0.13))
    assert mig.count == 3 and rows["product"]["n"] == 3
    sap = rows["product"]["sap"]
    assert math.isclose(sap.mean, 0.2) and math.isclose(sap.std, math.sqrt(0.02))
    assert (sap.count, sap.total) == (2, 3)  # 2 values averaged of 3 finished seeds
    assert rows["beta_vae"]["n"] == 2
    assert math.isclose(rows["beta_vae"]["mig"].mean, 0.6)
    assert math.isclose(rows["beta_vae"]["mig"].std, np.std([0.5, 0.7], ddof=1))
    assert (rows["qlae"]["n"], rows["qlae"]["mig"].count, rows["qlae"]["mig"].total) == (1, 0, 1)
    assert rows["tilted"]["n"] == 0 and rows["tilted"]["mig"].total == 0


def test_markdown_table_text():
    table = markdown_table(RECORDS, ["torus"], VARIANTS, HEADLINE, num_seeds=3)
    lines = table.splitlines()
    assert lines[0] == "### torus"
    assert lines[2] == "| objective | n | MIG | SAP |"
    # n counts the finished seeds; a metric with fewer values than n says how many it averages
    assert lines[4] == "| product | 3/3 | 0.500 ± 0.361 | 0.200 ± 0.141 (2/3) |"
    assert lines[5] == "| beta_vae | 2/3 | **0.600 ± 0.141** | **0.700 ± 0.141** |"
    assert lines[6] == "| qlae | 1/3 | NaN | NaN |"  # finished, but no finite MIG, no SAP
    assert lines[7] == "| tilted | 0/3 | – | – |"  # nothing finished
    assert len(lines) == 8


def test_a_cell_counts_its_missing_and_nan_values():
    partial = summarise([0.25, None, float("nan")])
    assert (partial.count, partial.total) == (1, 3) and math.isnan(partial.std)
    assert partial.text() == "0.250 (1/3)"
    assert summarise([0.25]).text() == "0.250"  # one value of one: no std, nothing missing
    assert summarise([0.1, 0.3, float("inf")]).text() == "0.200 ± 0.141 (2/3)"
    assert summarise([None, float("nan")]).text() == "NaN"
    assert summarise([]).text() == "–"
