"""bot/features/tickets"""
