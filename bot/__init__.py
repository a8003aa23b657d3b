"""ntm-bot: a two-way citizen channel for the NTM and OCOP programmes of An Giang province."""
__version__ = "0.1.0"
