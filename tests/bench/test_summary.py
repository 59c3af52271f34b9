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
]


def test_mean_and_sample_std_by_hand():
    rows = {
        row["variant"]: row
        for row in summary_rows(RECORDS, ["torus"], ["product", "beta_vae", "qlae"], HEADLINE)
    }
    mig = rows["product"]["mig"]
    # (0.2 + 0.4 + 0.9) / 3 = 0.5; deviations -0.3, -0.1, 0.4 -> sum of squares 0.26 over 2
    assert math.isclose(mig.mean, 0.5) and math.isclose(mig.std, math.sqrt(0.13))
    assert mig.count == 3 and rows["product"]["n"] == 3
    sap = rows["product"]["sap"]
    assert math.isclose(sap.mean, 0.2) and math.isclose(sap.std, math.sqrt(0.02))
    assert rows["beta_vae"]["n"] == 2
    assert math.isclose(rows["beta_vae"]["mig"].mean, 0.6)
    assert math.isclose(rows["beta_vae"]["mig"].std, np.std([0.5, 0.7], ddof=1))
    assert rows["qlae"]["mig"].count == 0


def test_markdown_table_text():
    table = markdown_table(
        RECORDS, ["torus"], ["product", "beta_vae", "qlae"], HEADLINE, num_seeds=3
    )
    lines = table.splitlines()
    assert lines[0] == "### torus"
    assert lines[2] == "| objective | n | MIG | SAP |"
    assert lines[4] == "| product | 3/3 | 0.500 ± 0.361 | 0.200 ± 0.141 |"
    assert lines[5] == "| beta_vae | 2/3 | **0.600 ± 0.141** | **0.700 ± 0.141** |"
    assert lines[6] == "| qlae | 1/3 | – | – |"


def test_one_value_has_no_std():
    single = summarise([0.25, None, float("nan")])
    assert single.count == 1 and math.isnan(single.std)
    assert single.text() == "0.250"
