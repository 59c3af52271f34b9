"""prodvae: disentangled VAEs on products of one-dimensional latent pieces.

A latent space is a product of points, segments and loops, each with a prior whose
energy grows quadratically with the distance to its low-energy set -- a generalisation
of the tilted prior of Floto, Kremer and Nica (ICLR 2023).
"""

__version__ = "0.1.0"
