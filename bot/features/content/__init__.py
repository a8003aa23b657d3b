"""bot/features/content"""
