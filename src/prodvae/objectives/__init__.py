"""prodvae.objectives"""
