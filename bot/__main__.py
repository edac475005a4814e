"""`python -m bot`: the same command as `ikabot`."""

from bot.cli import main

raise SystemExit(main())
