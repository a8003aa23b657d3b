"""Web pages that are not a channel: HTTP views of what features hold (the public results page; next, the
officers' console). A page may use aiohttp and the features; no feature, channel or kernel module imports a page.
`bot.server` adds their routes."""
