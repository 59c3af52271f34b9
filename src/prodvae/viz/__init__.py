"""prodvae.viz"""
