"""Figures of a discovery: per factor, a persistence diagram and the path in two dimensions.

For the first path read of each factor: its H0 and H1 bars as (birth, death) points (fractions
of the path's diameter, with the loop threshold drawn), and a classical multidimensional
scaling of the distances between its embedded images, coloured by the factor's value (a
latent group read without labels: its landmark codes, uncoloured).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from prodvae.discover.reading import LOOP_PERSISTENCE, barcodes
from prodvae.discover.report import Discovery, Finding
from prodvae.viz.canvas import Box, FigureFile, add_axes_px, figure_style, new_figure, save_png


def classical_scaling(distances: np.ndarray, dim: int = 2) -> np.ndarray:
    """Coordinates ``[n, dim]`` whose Euclidean distances best match ``distances [n, n]``
    (Torgerson's classical multidimensional scaling)."""
    d = np.asarray(distances, dtype=np.float64)
    n = len(d)
    centre = np.eye(n) - np.full((n, n), 1.0 / n)
    gram = -0.5 * centre @ (d * d) @ centre
    values, vectors = np.linalg.eigh(gram)
    top = np.argsort(values)[::-1][:dim]
    coords = vectors[:, top] * np.sqrt(np.clip(values[top], 0.0, None))
    signs = np.sign(coords[np.abs(coords).argmax(axis=0), np.arange(coords.shape[1])])
    return coords * np.where(signs == 0, 1.0, signs)  # a fixed sign: the same figure each run


def plot_finding(finding: Finding, path: Path | str) -> FigureFile:
    """Write one factor's figure (persistence diagram, path) as a PNG."""
    if finding.example is None:
        raise ValueError(f"factor {finding.name!r}: no path was read, nothing to plot")
    values, distances = finding.example
    bars = barcodes(distances)
    coords = classical_scaling(distances / bars.diameter)
    with figure_style():
        fig = new_figure(720, 340)
        fig.suptitle(
            f"{finding.name}: declared {finding.declared}, found {finding.found} "
            f"(confidence {finding.confidence:.2f})"
        )
        diagram = add_axes_px(fig, Box(60, 50, 260, 240))
        h0 = bars.h0
        diagram.scatter(np.zeros_like(h0), h0, s=14, label="H0", color="tab:blue")
        if len(bars.h1):
            diagram.scatter(bars.h1[:, 0], bars.h1[:, 1], s=18, label="H1", color="tab:red")
        diagram.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
        diagram.plot(
            [0, 1 - LOOP_PERSISTENCE],
            [LOOP_PERSISTENCE, 1],
            color="tab:red",
            linewidth=0.6,
            linestyle="--",
            label="loop threshold",
        )
        diagram.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.05), xlabel="birth", ylabel="death")
        diagram.set_title("persistence (fraction of diameter)")
        diagram.legend(loc="lower right")
        scatter = add_axes_px(fig, Box(400, 50, 240, 240))
        if values is None:  # a cloud of codes read without labels: no order to draw
            scatter.scatter(coords[:, 0], coords[:, 1], color="tab:blue", s=16)
            scatter.set_title("codes (classical scaling)")
        else:
            cmap = "twilight" if finding.found == "loop" else "viridis"
            order = np.argsort(values, kind="stable")
            scatter.plot(coords[order, 0], coords[order, 1], color="lightgrey", linewidth=0.8)
            points = scatter.scatter(coords[:, 0], coords[:, 1], c=values, cmap=cmap, s=16)
            scatter.set_title("path (classical scaling)")
            fig.colorbar(points, ax=scatter, label=finding.name)
        scatter.set_aspect("equal", adjustable="datalim")
        scatter.set_xticks([])
        scatter.set_yticks([])
        return save_png(fig, path)


def plot_discovery(discovery: Discovery, folder: Path | str) -> list[FigureFile]:
    """One PNG per finding read (none for a factor that could not be read),
    ``folder/<name>.png``; for a model, also one per factor read on every latent dimension it
    moves, ``folder/factor-<factor>.png``."""
    folder = Path(folder)
    read = [f for f in discovery.findings if not f.unread]
    figures = [plot_finding(f, folder / f"{f.name}.png") for f in read]
    for f in (f for f in discovery.by_factor if not f.unread):
        figures.append(plot_finding(f, folder / f"factor-{getattr(f, 'follows', f.name)}.png"))
    return figures
