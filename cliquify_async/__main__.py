"""`python -m cliquify_async`: the same as the `cliquify-async` command."""

from .cli import main

raise SystemExit(main())
