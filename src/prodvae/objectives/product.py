"""The product-space objective: reconstruction + Σ_f β_f KL_f with an annealed prior.

The seed's method. Two schedules, both pure functions of the step:

- shape annealing: every factor's width is multiplied by ``k(t)``, falling geometrically
  from ``anneal_factor`` to 1 over ``anneal_steps`` (τ of a tilted factor divided by k);
  rings keep a hole of ratio ``min_ring_ratio`` (see :mod:`prodvae.objectives.annealing`,
  which explains the collapse this avoids); ``anneal_cycle`` > 0 restarts this annealing
  every ``anneal_cycle`` steps (cyclical annealing, Fu et al. 2019, applied to the prior's
  shape): each restart widens the rings again and lowers the energy at their centres, so a
  loop whose codes folded onto an arc can pass through the centre and go round; end the run
  at least ``anneal_steps`` into a cycle, so that it ends on the target prior;
- β warm-up: β_f(t) rises linearly from 0 over ``warmup_steps``.

``free_bits`` λ > 0 replaces each factor's batch-mean KL by ``max(λ, KL_f)`` (Kingma et al.
2016): no factor is pushed below λ nats, the usual guard against posterior collapse. It does
not stop a loop that the decoder ignores at first from settling at one point of its ring (a
Gaussian posterior at one point of ``loop(3, 0.5)`` costs only about 2 nats); on the two-hand
dial, at 6000 steps of Ada-GVAE pairs, neither with nor without it do the two loops give each
hand its own loop reliably (``benchmarks/torus_loops.py`` and its README section).

KL_f is ``VAE.kl``: the factor's own KL for Gaussian posteriors -- exact for loops,
segments, tilted and Euclidean factors; for ``PointSet`` the deterministic variational upper
bound (Hershey & Olsen 2007), so the loss is an upper bound on the negative ELBO.

Options: ``tc_weight`` adds a block-wise total-correlation penalty between latent factors
(minibatch-stratified, needs ``dataset_size``); ``labelled_fraction`` > 0 with a
``label_map`` pulls named factors toward labelled values (:mod:`semi_supervision`; the
trainer labels that fraction of the training images with their factor values and passes NaN
for the rest; :meth:`prepare` keeps the data's factors, so each call maps those values to
the latent factors' coordinates);
``weak`` trains on pairs (Ada-GVAE / Ada-ML-VAE, per latent factor); ``hsic_weight`` adds
the mean kernel dependence (HSIC, Gaussian kernel of ``hsic_bandwidth`` in code units)
between every two latent factors' posterior means over the batch (before pairs are merged)
(:mod:`prodvae.objectives.dependence`): a penalty on two factors carrying the same thing.
``consistency_weight`` (with pairs) adds how far the encoder's means move over the blocks a
pair shares (:func:`~prodvae.objectives.weak.pair_consistency`): a penalty on a block that
follows a factor other than its own; ``separation_weight`` adds how far short of a margin
apart a pair's codes fall on the points factors it changes (a spacing) and, with
``ring_separation`` > 0, on the rings it changes (the chord of that fraction of a turn;
:func:`~prodvae.objectives.weak.pair_separation`): two values that share a well of the
prior, or meet on a folded or idle ring, are pushed apart; ``geometry_weight`` adds how
little the chord between a pair's codes on each ring it changes follows the distance between
its images (:func:`~prodvae.objectives.weak.pair_geometry`), which puts a loop's values round
its ring in their order; ``assignment_weight`` (points blocks with posterior ``point_logits``)
adds the cross-entropy of the chance that a pair's two images fall at one point against the
pair keeping the factor (:func:`~prodvae.objectives.weak.pair_assignment`).
``anchor_weight`` > 0 pulls the posterior means toward a linear layout of the images
(:class:`prodvae.objectives.anchor.Anchor`, fitted before training by
:meth:`ProductObjective.prepare` on training images and pairs drawn from the dataset, see
:func:`prodvae.objectives.anchor.anchor_images`, or on given images with
:meth:`ProductObjective.fit_anchor`) with a weight falling linearly to 0 over
``anchor_steps``: a start in which each loop already goes once round its factor.
``normalise_steps`` > 0 (with a model built with ``normalise_codes``) keeps every factor's
posterior means batch-normalised to its prior's moments for that many steps and then fades
the normalisation out linearly over as many more
(:class:`~prodvae.models.vae.CodeNorm`): every block spreads over its prior from the start,
so none is left idle while another takes its factor, and then each is free to shrink to
what its factor needs.
``orbit_weight`` > 0 (with ``changed: known``) pulls each loop block that the anchor
leaves unanchored (every loop block without the anchor) toward the angles round its factor's
orbits (:mod:`prodvae.objectives.orbits`; on data that are not a grid, orbits read from rows,
:mod:`prodvae.objectives.row_orbits`): from step ``orbit_start`` on, ``orbit_batch`` images
a step from ``orbit_draws`` orbits, with the labels' pull; a factor is started when
its links agree over ``orbit_count`` orbits; ``orbit_workers: 1`` reads them ahead in a
worker process (:mod:`prodvae.objectives.orbit_stream`; the same numbers).
``orbit_points_weight`` > 0 spreads each points block's codes of an orbit's values over
distinct points (:mod:`prodvae.objectives.orbit_pull`; on a
``point_logits`` block, every two values of an orbit as a pair that changes the factor),
``orbit_draws`` orbits a step from ``orbit_start`` on.
``coverage_weight`` adds how unevenly loop blocks cover their rings and points blocks their
points, ``segment_coverage_weight`` how unevenly segment blocks cover their segments
(:mod:`prodvae.objectives.coverage`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from prodvae.data import FactorSpec, GroundTruthDataset
from prodvae.models import VAE
from prodvae.objectives.anchor import Anchor, anchor_images
from prodvae.objectives.annealing import anneal_space
from prodvae.objectives.base import register_objective, require_gaussian
from prodvae.objectives.coverage import loop_coverage, points_coverage, segment_coverage
from prodvae.objectives.dependence import factor_hsic
from prodvae.objectives.elbo import ElboObjective, ElboTerms
from prodvae.objectives.orbit_pull import (
    Frame,
    OrbitPull,
    orbit_frames,
    orbit_points,
    orbit_pull,
    orbit_spread,
    pull_drawn,
)
from prodvae.objectives.orbit_stream import OrbitStream
from prodvae.objectives.product_options import ProductOptions
from prodvae.objectives.schedules import Ramp
from prodvae.objectives.semi_supervision import (
    check_label_map,
    check_labelled_factors,
    latent_labels,
    supervised_pull,
)
from prodvae.objectives.total_correlation import as_float64, total_correlation
from prodvae.objectives.weak import (
    check_point_logits,
    pair_assignment,
    pair_consistency,
    pair_geometry,
    pair_separation,
    prior_spreads,
)
from prodvae.spaces import ProductSpace


@register_objective("product")
class ProductObjective(ElboObjective):
    """Annealed product-space ELBO with optional TC penalty, semi- and weak supervision."""

    Options = ProductOptions
    options: ProductOptions

    def __init__(self, options: ProductOptions | None = None) -> None:
        super().__init__(options)
        o = self.options
        self.warmup = Ramp(0.0, 1.0, o.warmup_steps)
        self.width_scale = Ramp(
            o.anneal_factor, 1.0, o.anneal_steps, o.anneal_shape, period=o.anneal_cycle
        )
        self.anchor: Anchor | None = None
        # the space whose prior spreads consistency_weight last used, and those spreads
        self._spreads: tuple[ProductSpace, tuple[float, ...]] | None = None
        # the data's factors, once prepare has seen it: labels are mapped from their values
        self._label_specs: tuple[FactorSpec, ...] | None = None
        # orbit_weight: each orbit-started loop block's frame, and the seed of its draws
        self.orbits: dict[int, Frame] = {}
        # orbit_points_weight: each spread points block's factor, and the data to draw from
        self.orbit_points: dict[int, int] = {}
        self._orbit_data: GroundTruthDataset | None = None
        self._orbit_seed, self._spread_seed, self._orbits_fitted = 0, 0, False
        self._stream: OrbitStream | None = None  # orbit_workers: the worker reading ahead

    @property
    def needs_labels(self) -> bool:
        return self.options.labelled_fraction > 0

    @property
    def labelled_fraction(self) -> float:
        return self.options.labelled_fraction

    def check_model(self, model: VAE) -> None:
        super().check_model(model)
        beta = self.options.beta
        if len(beta) not in (1, model.space.num_factors):
            raise ValueError(
                f"{self.name}: beta has {len(beta)} values, the space has "
                f"{model.space.num_factors} factors"
            )
        if self.options.tc_weight > 0:
            require_gaussian(f"{self.name} (tc_weight > 0)", model)
        check_label_map(model.space, self.options.label_map)
        if self.options.assignment_weight > 0:
            check_point_logits(self.name, model)
        if self.options.normalise_steps > 0 and not len(model.code_norms):
            raise ValueError(
                f"{self.name}: normalise_steps > 0 fades the model's code normalisation: "
                "build the model with normalise_codes (model.options.normalise_codes: true)"
            )

    def prepare(
        self,
        dataset: GroundTruthDataset,
        space: ProductSpace,
        generator: torch.Generator,
        *,
        num_changed: int | None = 1,
    ) -> None:
        """``anchor_weight > 0``: fit the anchor on training images (and pairs, when training
        on pairs) drawn with ``generator`` (:func:`~prodvae.objectives.anchor.anchor_images`).
        With labels, keep the data's factors: the trainer's labels are their values, which
        each call maps to the latent factors' coordinates
        (:func:`~prodvae.objectives.semi_supervision.latent_labels`). ``orbit_weight > 0``
        or ``orbit_points_weight > 0``: after the anchor, read the orbits of each loop it
        leaves unanchored, and pick the points blocks to spread (:meth:`fit_orbits`)."""
        super().prepare(dataset, space, generator, num_changed=num_changed)
        if self.needs_labels:
            check_labelled_factors(dataset.spec, space, self.options.label_map)
            self._label_specs = tuple(dataset.spec)
        if self.options.anchor_weight > 0:
            self._prepare_anchor(dataset, space, generator, num_changed)
        if self.options.orbit_weight > 0 or self.options.orbit_points_weight > 0:
            self.fit_orbits(dataset, space, generator)

    def _prepare_anchor(
        self,
        dataset: GroundTruthDataset,
        space: ProductSpace,
        generator: torch.Generator,
        num_changed: int | None,
    ) -> None:
        images, pairs, changed = anchor_images(dataset, generator, self.needs_pairs, num_changed)
        if self.needs_changed and changed is not None and self._varying is not None:
            changed = changed[:, self._varying]  # latent factor k = the k-th varying factor
        else:
            changed = None
        self.fit_anchor(space, images, pairs, generator, changed)

    def fit_anchor(
        self,
        space: ProductSpace,
        images: Tensor,
        pairs: tuple[Tensor, Tensor] | None = None,
        generator: torch.Generator | None = None,
        changed: Tensor | None = None,
    ) -> Anchor:
        """Fit the starting layout (:meth:`Anchor.fit`) on training images and keep it."""
        self.anchor = Anchor.fit(space, images, pairs, generator, changed)
        return self.anchor

    def fit_orbits(
        self, dataset: GroundTruthDataset, space: ProductSpace, generator: torch.Generator
    ) -> dict[int, Frame]:
        """The orbit frames of the loop blocks the plane start leaves unanchored
        (:func:`~prodvae.objectives.orbit_pull.orbit_frames`, with ``orbit_weight``), the
        points blocks to spread (:func:`~prodvae.objectives.orbit_pull.orbit_points`, with
        ``orbit_points_weight``), and the seeds of their draws."""
        if self._varying is None:
            raise ValueError(f"{self.name}: orbits need prepare with changed: known")
        columns = self._varying.tolist()
        if self.options.orbit_weight > 0:
            anchored = None if self.anchor is None else self.anchor.anchored
            count = self.options.orbit_count
            self.orbits = orbit_frames(dataset, space, columns, anchored, count, generator)
        if self.options.orbit_points_weight > 0:
            self.orbit_points = orbit_points(dataset, space, columns)
        self._orbit_data = dataset
        self._orbit_seed, self._spread_seed = torch.randint(
            2**62, (2,), generator=generator
        ).tolist()
        self._orbits_fitted = True
        return self.orbits

    def orbit_scale(self, step: int) -> float:
        """The orbits' weight at ``step``: 0 before ``orbit_start``, ``orbit_weight`` from
        then on (a start after the anchor and the code normalisation have let go leaves the
        first layout to them)."""
        return self.options.orbit_weight if step >= self.options.orbit_start else 0.0

    def orbit_pull(self, model: VAE, step: int) -> OrbitPull:
        """:func:`~prodvae.objectives.orbit_pull.orbit_pull` of this step's orbits: the cells
        and rows drawn from the seed :meth:`fit_orbits` drew and ``step``; their angles from
        the frames, which keep what earlier steps read."""
        o = self.options
        if o.orbit_workers:  # the same orbits, read ahead in a worker process
            if self._stream is None:
                self._stream = OrbitStream(
                    self.orbits, o.orbit_batch, self._orbit_seed, o.orbit_draws
                )
            return pull_drawn(model, self._stream.read(step))
        generator = torch.Generator().manual_seed(self._orbit_seed + step)
        return orbit_pull(model, self.orbits, o.orbit_batch, generator, o.orbit_draws)

    def orbit_spread(self, model: VAE, step: int) -> Tensor:
        """:func:`~prodvae.objectives.orbit_pull.orbit_spread` of this step's orbits of each
        spread points block (``orbit_draws`` of them, drawn from a seed and ``step``)."""
        if self._orbit_data is None:
            raise ValueError(f"{self.name}: call prepare before orbit_spread")
        generator = torch.Generator().manual_seed(self._spread_seed + step)
        data, draws = self._orbit_data, self.options.orbit_draws
        return orbit_spread(model, data, self.orbit_points, draws, generator)

    def _orbit_terms(self, model: VAE, step: int, logs: dict[str, float]) -> Tensor:
        """The orbits' pull and spread at ``step`` (0 before ``orbit_start``), weighted."""
        o = self.options
        penalty = torch.zeros((), device=next(model.parameters()).device)
        if step < o.orbit_start or not (o.orbit_weight > 0 or o.orbit_points_weight > 0):
            return penalty
        if not self._orbits_fitted:
            raise ValueError(
                f"{self.name}: orbit_weight or orbit_points_weight > 0 needs the orbits: call "
                "objective.prepare(dataset, space, generator) before training"
            )
        if o.orbit_weight > 0 and self.orbits:
            pull = self.orbit_pull(model, step)
            penalty = penalty + self.orbit_scale(step) * pull.total
            logs["orbits"] = pull.total.item()
            logs["orbit_agreement"] = pull.worst
        if o.orbit_points_weight > 0 and self.orbit_points:
            spread = self.orbit_spread(model, step)
            penalty = penalty + o.orbit_points_weight * spread
            logs["orbit_spread"] = spread.item()
        return penalty

    def code_blend(self, step: int) -> float:
        """How much of the normalised means the model uses at ``step``: 1 for the first
        ``normalise_steps`` steps, then falling linearly to 0 over as many more."""
        n = self.options.normalise_steps
        return min(1.0, max(0.0, 2.0 - step / n))

    def terms(
        self,
        model: VAE,
        x: Tensor,
        step: int,
        generator: torch.Generator | None = None,
        changed: Tensor | None = None,
    ) -> ElboTerms:
        """:meth:`ElboObjective.terms`, with the model's code normalisation set for ``step``."""
        if self.options.normalise_steps > 0:
            model.code_blend.fill_(self.code_blend(step))
        return super().terms(model, x, step, generator, changed)

    def anchor_scale(self, step: int) -> float:
        """The anchor's weight at ``step``: ``anchor_weight`` falling linearly to 0."""
        return self.options.anchor_weight * max(0.0, 1.0 - step / self.options.anchor_steps)

    def schedule(self, step: int) -> dict[str, float]:
        scheduled = {"beta_scale": self.warmup(step), "width_scale": self.width_scale(step)}
        if self.options.normalise_steps > 0:
            scheduled["code_blend"] = self.code_blend(step)
        return scheduled

    def space_at(self, space: ProductSpace, step: int) -> ProductSpace:
        return anneal_space(space, self.width_scale(step), self.options.min_ring_ratio)

    def regularise(self, model: VAE, terms: ElboTerms, step: int, labels: Tensor | None):
        o = self.options
        beta = terms.kl.new_tensor(o.beta) * self.warmup(step)
        if o.free_bits > 0:
            penalty = (terms.kl.mean(0).clamp(min=o.free_bits) * beta).sum()
        else:
            penalty = (terms.kl * beta).sum(-1).mean()
        logs = self.schedule(step)
        if o.tc_weight > 0:
            z, mu, logvar = as_float64(terms.z, *terms.posterior)
            slices = model.space.slices
            tc = total_correlation(z, mu, logvar, slices, o.dataset_size).to(terms.z.dtype)
            penalty = penalty + o.tc_weight * tc
            logs["tc"] = tc.item()
        if o.hsic_weight > 0:
            dependence = factor_hsic(terms.codes, model.space.slices, o.hsic_bandwidth)
            penalty = penalty + o.hsic_weight * dependence
            logs["hsic"] = dependence.item()
        if o.consistency_weight > 0 and terms.shared is not None:
            if self._spreads is None or self._spreads[0] != model.space:
                self._spreads = (model.space, prior_spreads(model.space))
            moved = pair_consistency(model.space, terms.codes, terms.shared, self._spreads[1])
            penalty = penalty + o.consistency_weight * moved
            logs["consistency"] = moved.item()
        # points blocks that read a softmax: assignment and coverage read it, not the mean
        softmax = terms.shares or {}
        if o.separation_weight > 0 and terms.shared is not None:
            skip = tuple(softmax) if o.assignment_weight > 0 else ()
            close = pair_separation(model.space, terms.codes, terms.shared, o.ring_separation, skip)
            penalty = penalty + o.separation_weight * close
            logs["separation"] = close.item()
        if o.assignment_weight > 0 and terms.shared is not None and terms.shares:
            unlikely = pair_assignment(terms.shares, terms.shared)
            penalty = penalty + o.assignment_weight * unlikely
            logs["assignment"] = unlikely.item()
        if o.geometry_weight > 0 and terms.shared is not None:
            unordered = pair_geometry(model.space, terms.codes, terms.shared, terms.images)
            penalty = penalty + o.geometry_weight * unordered
            logs["geometry"] = unordered.item()
        if o.coverage_weight > 0:
            uneven = loop_coverage(terms.codes, model.space) + points_coverage(
                terms.codes, model.space, softmax
            )
            penalty = penalty + o.coverage_weight * uneven
            logs["coverage"] = uneven.item()
        if o.segment_coverage_weight > 0:
            shrunk = segment_coverage(terms.codes, model.space)
            penalty = penalty + o.segment_coverage_weight * shrunk
            logs["segment_coverage"] = shrunk.item()
        if self.anchor_scale(step) > 0:
            if self.anchor is None:
                raise ValueError(
                    f"{self.name}: anchor_weight > 0 needs a layout: call "
                    "objective.prepare(dataset, space, generator) or "
                    "objective.fit_anchor(space, images, pairs) before training"
                )
            gap = self.anchor.gap(terms.codes, terms.images)
            penalty = penalty + self.anchor_scale(step) * gap
            logs["anchor"] = gap.item()
        penalty = penalty + self._orbit_terms(model, step, logs)
        if self.needs_labels and labels is not None:
            if self._label_specs is not None:
                labels = latent_labels(labels, self._label_specs, model.space, o.label_map)
            pull = supervised_pull(model.space, terms.posterior.mu, labels, o.label_map)
            penalty = penalty + pull
            logs["supervised"] = pull.item()
        return penalty, logs
