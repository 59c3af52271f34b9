"""prodvae.train"""
