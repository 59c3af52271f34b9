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
2016): no factor is pushed below λ nats (it does not stop an idle loop settling at one point
of its ring, which costs about 2 nats).

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
pair keeping the factor (:func:`~prodvae.objectives.weak.pair_assignment`);
``balance_weight`` adds how far each such softmax is from its target in an even split of the
batch over the points (:func:`~prodvae.objectives.coverage.points_balance`).
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
distinct points (:mod:`prodvae.objectives.points_orbits`; on data that are not a grid, an
orbit is the rows that share every other factor's level; on a
``point_logits`` block, every two values of an orbit as a pair that changes the factor),
``orbit_points_draws`` (0: ``orbit_draws``) orbits a step from ``orbit_start`` on, each of
at most ``orbit_batch // draws`` of its values (a random few of a factor with more).
``orbit_kept_weight`` > 0 (with
``orbit_weight``) takes every two images of each pulled orbit as a pair that keeps every
other factor: their consistency, and their assignment on ``point_logits`` blocks
(:func:`~prodvae.objectives.orbit_pull.orbit_kept`; the orbits' codes are already encoded).
``coverage_weight`` adds how unevenly loop blocks cover their rings and points blocks their
points, ``segment_coverage_weight`` how unevenly segment blocks cover their segments,
``segment_spread_weight`` how far a segment block has shrunk below a floor
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
from prodvae.objectives.coverage import (
    loop_coverage,
    points_balance,
    points_coverage,
    segment_coverage,
    segment_spread,
)
from prodvae.objectives.dependence import factor_hsic
from prodvae.objectives.elbo import ElboObjective, ElboTerms
from prodvae.objectives.product_options import ProductOptions
from prodvae.objectives.product_orbits import OrbitTerms
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
)
from prodvae.spaces import ProductSpace


@register_objective("product")
class ProductObjective(OrbitTerms, ElboObjective):
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
        # the data's factors, once prepare has seen it: labels are mapped from their values
        self._label_specs: tuple[FactorSpec, ...] | None = None
        self._init_orbits()

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
        for key in ("assignment_weight", "balance_weight"):
            if getattr(self.options, key) > 0:
                check_point_logits(self.name, model, key)
        if self.options.normalise_steps > 0 and not model.normalise_codes:
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
        known = self.needs_changed and changed is not None and self._varying is not None
        changed = changed[:, self._varying] if known else None  # latent k = k-th varying
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
        if self.options.normalise_steps > 0 and len(model.code_norms):
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
        parts: dict[str, tuple[float, Tensor]] = {}  # name -> (weight, term), each logged
        if o.tc_weight > 0:
            z, mu, logvar = as_float64(terms.z, *terms.posterior)
            tc = total_correlation(z, mu, logvar, model.space.slices, o.dataset_size)
            parts["tc"] = (o.tc_weight, tc.to(terms.z.dtype))
        if o.hsic_weight > 0:
            hsic = factor_hsic(terms.codes, model.space.slices, o.hsic_bandwidth)
            parts["hsic"] = (o.hsic_weight, hsic)
        # points blocks that read a softmax: assignment and coverage read it, not the mean
        softmax, shared, codes = terms.shares or {}, terms.shared, terms.codes
        if o.consistency_weight > 0 and shared is not None:
            moved = pair_consistency(model.space, codes, shared, self._prior_spreads(model))
            parts["consistency"] = (o.consistency_weight, moved)
        if o.separation_weight > 0 and shared is not None:
            skip = tuple(softmax) if o.assignment_weight > 0 else ()
            close = pair_separation(model.space, codes, shared, o.ring_separation, skip)
            parts["separation"] = (o.separation_weight, close)
        if o.assignment_weight > 0 and shared is not None and softmax:
            parts["assignment"] = (o.assignment_weight, pair_assignment(softmax, shared))
        if o.balance_weight > 0 and softmax:
            parts["balance"] = (o.balance_weight, points_balance(softmax))
        if o.geometry_weight > 0 and shared is not None:
            unordered = pair_geometry(model.space, codes, shared, terms.images)
            parts["geometry"] = (o.geometry_weight, unordered)
        if o.coverage_weight > 0:
            uneven = loop_coverage(codes, model.space) + points_coverage(
                codes, model.space, softmax
            )
            parts["coverage"] = (o.coverage_weight, uneven)
        if o.segment_coverage_weight > 0:
            parts["segment_coverage"] = (
                o.segment_coverage_weight,
                segment_coverage(codes, model.space),
            )
        if o.segment_spread_weight > 0:
            parts["segment_spread"] = (
                o.segment_spread_weight,
                segment_spread(codes, model.space),
            )
        for name, (weight, term) in parts.items():
            penalty = penalty + weight * term
            logs[name] = term.item()
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
