"""prodvae.models"""
