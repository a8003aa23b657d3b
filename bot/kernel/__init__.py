"""bot/kernel"""
