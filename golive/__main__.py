"""Lets ``python -m golive`` behave like the ``golive`` command."""

from golive.cli import main

main()
