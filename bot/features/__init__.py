"""What the bot does for citizens and officers, one package per feature. Features stand on the kernel
(`bot.kernel`) and never import a channel; each package's `register()` registers its commands, steps,
buttons, jobs, erasers and outcome hooks. `bot.composition` lists the features this process runs."""
