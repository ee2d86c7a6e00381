"""``python -m bot`` is ``kpibot``: child processes need no console script on PATH."""

from bot.cli import main

if __name__ == "__main__":  # not when a spawned worker (the chart drawer) imports it
    main()
