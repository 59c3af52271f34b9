"""Pictures of what a model learned: reconstructions, topology-aware traversals, latent
portraits, the ground-truth x latent association, training curves, and the run report.

Every function takes arrays or tensors (and a ``decode`` callable or a model offering
``space``, ``codes`` and ``reconstruct``) and writes a deterministic PNG/GIF: the same
inputs give byte-identical files. :func:`write_figures` draws them all into a run's
``figures/``, :func:`write_report` gathers them into a self-contained ``report.html``,
and :func:`log_figures_to_tensorboard` sends reconstructions and traversals to TensorBoard.
"""

from prodvae.viz.animation import animation_frames, write_traversal_gif
from prodvae.viz.association import Association, associate, latent_units, plot_association
from prodvae.viz.canvas import DPI, FigureFile
from prodvae.viz.curves import plot_training_curves, read_metrics_log
from prodvae.viz.figures import FIGURE_FILES, sample_dataset, write_figures
from prodvae.viz.portraits import plot_portraits
from prodvae.viz.reconstructions import plot_reconstructions, reconstruction_grid
from prodvae.viz.report import render_report, write_report
from prodvae.viz.tensorboard import log_figures_to_tensorboard
from prodvae.viz.traversals import Traversal, plot_traversals, traversal_paths, traverse_space

__all__ = [
    "DPI",
    "FIGURE_FILES",
    "Association",
    "FigureFile",
    "Traversal",
    "animation_frames",
    "associate",
    "latent_units",
    "log_figures_to_tensorboard",
    "plot_association",
    "plot_portraits",
    "plot_reconstructions",
    "plot_training_curves",
    "plot_traversals",
    "read_metrics_log",
    "reconstruction_grid",
    "render_report",
    "sample_dataset",
    "traversal_paths",
    "traverse_space",
    "write_figures",
    "write_report",
    "write_traversal_gif",
]
