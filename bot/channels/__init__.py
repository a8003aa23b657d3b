"""One module per channel. Each registers its `ChannelSpec` (name, Caps, title, settings, adapter factory) in
`bot.kernel.channel.CHANNELS`; `bot.composition` lists the channels a process knows."""
