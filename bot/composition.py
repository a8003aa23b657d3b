"""The composition root: which features and channels this process runs. Nothing else lists them.

Features and channels register themselves with the kernel (`bot.kernel.registry`, `bot.kernel.channel.CHANNELS`)
when they are loaded here; the kernel never imports them. Order matters where a registry keeps it: commands are
listed in /help in the order their features load.
"""
from __future__ import annotations

import argparse
from importlib import import_module
from typing import Callable

# The channels this process knows, in the order their adapters start.
CHANNELS = ("bot.channels.telegram", "bot.channels.zalo_bot", "bot.channels.zalo_oa", "bot.channels.web",
            "bot.channels.email", "bot.channels.terminal", "bot.channels.terminal_staff")
Subcommand = tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
_features_loaded = _channels_loaded = False


def load_features() -> None:
    from bot.features import broadcasts, console, content, faq, privacy, results, start, tickets

    for feature in (faq, start, tickets, broadcasts, content, privacy, results, console):
        feature.register()


def load_channels() -> None:
    """Every channel module registers its `ChannelSpec`; an adapter is built only for the configured ones."""
    for name in CHANNELS:
        import_module(name)


def load(channels: bool = True) -> None:
    """Features and channels, once per process (the running bot, the tests). `ntm-bot ask` loads the features
    only: it answers on no platform, and importing every platform's client would double its start-up."""
    global _features_loaded, _channels_loaded
    if not _features_loaded:
        load_features()
        _features_loaded = True
    if channels and not _channels_loaded:
        load_channels()
        _channels_loaded = True


def cli_commands() -> list[Subcommand]:
    """`ntm-bot` subcommands that features and channels add to the built-in ones."""
    from bot.channels import zalo_cli
    from bot.features.console import cli as console_cli

    return [zalo_cli.SUBCOMMAND, console_cli.SUBCOMMAND]
