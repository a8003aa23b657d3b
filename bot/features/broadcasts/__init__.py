"""bot/features/broadcasts"""
