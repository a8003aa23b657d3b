"""bot/features/privacy"""
