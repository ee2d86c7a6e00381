"""``python -m bot`` is ``kpibot``: child processes need no console script on PATH."""

from bot.cli import main

main()
