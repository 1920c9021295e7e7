"""``python -m farm`` runs the simulation CLI."""

from farm.cli import main

raise SystemExit(main())
