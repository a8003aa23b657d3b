"""bot/features/faq"""
