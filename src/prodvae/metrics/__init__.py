"""prodvae.metrics"""
